//! "Fit this image": the fitter learns from the known pixels only, its loss
//! falls, bad input is refused clearly, and the app's fitting thread
//! reports steps, refreshed results for the current mask, and saves.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::gpu;
use pconv::app::fitting::{FitEvent, FitSession};
use pconv::app::worker::{Composite, Request};
use pconv::infer::fit::{FitOptions, Fitter};
use pconv::infer::{FitMethod, Method};
use pconv::model::{Checkpoint, UNetConfig};
use pconv::raster::HoleMap;
use pconv::raster::Planes;

/// Small and quick on lavapipe: a 3-level network on two 32×32 crops.
fn tiny() -> FitOptions {
    FitOptions {
        net: UNetConfig {
            levels: 3,
            width: 0.25,
        },
        crop: 32,
        batch: 2,
        lr: 2e-3,
        seed: 5,
    }
}

/// A 44×38 picture: smooth colour ramps with a few stripes.
fn picture() -> image::RgbImage {
    image::RgbImage::from_fn(44, 38, |x, y| {
        let stripe = if (x / 5) % 2 == 0 { 40 } else { 0 };
        image::Rgb([(x * 5) as u8 + stripe, (y * 6) as u8, (120 + x + y) as u8])
    })
}

/// A hole block inside and a strip along the right border.
fn holes() -> HoleMap {
    let (w, h) = (44, 38);
    let holes = (0..w * h)
        .map(|i| {
            let (x, y) = (i % w, i / w);
            (12..22).contains(&x) && (10..19).contains(&y) || x >= 41
        })
        .collect();
    HoleMap {
        width: w,
        height: h,
        holes,
    }
}

#[test]
fn fitting_learns_from_known_pixels_only_and_its_loss_falls() {
    let Some(ctx) = gpu() else { return };
    let img = picture();
    let holes = holes();
    let planes = Planes::from_rgb(&img);
    // The same photo with other content under the mask.
    let mut scribbled = img.clone();
    for (x, y, p) in scribbled.enumerate_pixels_mut() {
        if holes.holes[y as usize * 44 + x as usize] {
            *p = image::Rgb([255, (x * 31) as u8, 0]);
        }
    }
    let mut a = Fitter::new(&ctx, &planes, &holes, tiny()).unwrap();
    let mut b = Fitter::new(&ctx, &Planes::from_rgb(&scribbled), &holes, tiny()).unwrap();
    assert_eq!(a.crop(), 32);
    let mut totals = Vec::new();
    for _ in 0..14 {
        let (sa, sb) = (a.step().unwrap(), b.step().unwrap());
        assert_eq!(sa, sb, "pixels under the mask changed the fit");
        totals.push(sa.total());
    }
    let first = totals[..3].iter().sum::<f32>() / 3.0;
    let last = totals[totals.len() - 3..].iter().sum::<f32>() / 3.0;
    assert!(last < 0.5 * first, "loss {first} -> {last}: {totals:?}");
    let ck = a.checkpoint().unwrap();
    assert_eq!(ck.step, 14);
    assert_eq!(ck.config, tiny().net);

    // Filling with a fresh fit changes the hole pixels only.
    let mut method = Method::Fit(Box::new(FitMethod {
        ctx: ctx.clone(),
        opts: tiny(),
        steps: 2,
        progress: None,
    }));
    // Each fit step is reported.
    let told = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = told.clone();
    method.set_progress(Some(Box::new(move |done, total| {
        sink.lock().unwrap().push((done, total))
    })));
    let out = pconv::infer::large::inpaint(&mut method, &img, &holes, 1024).unwrap();
    assert_eq!(*told.lock().unwrap(), [(1, 2), (2, 2)]);
    for (x, y, p) in out.enumerate_pixels() {
        if !holes.holes[y as usize * 44 + x as usize] {
            assert_eq!(p, img.get_pixel(x, y), "known pixel ({x}, {y}) changed");
        }
    }
}

#[test]
fn fitting_refuses_what_it_cannot_learn_from() {
    let Some(ctx) = gpu() else { return };
    let planes = Planes::from_rgb(&picture());
    let all = HoleMap {
        width: 44,
        height: 38,
        holes: vec![true; 44 * 38],
    };
    let err = Fitter::new(&ctx, &planes, &all, tiny()).err().unwrap();
    assert!(err.to_string().contains("nothing known"), "{err}");
    let small = Planes::from_rgb(&image::RgbImage::new(6, 30));
    let small_holes = HoleMap {
        width: 6,
        height: 30,
        holes: vec![false; 180],
    };
    let err = Fitter::new(&ctx, &small, &small_holes, tiny())
        .err()
        .unwrap();
    assert!(err.to_string().contains("smaller than 8x8"), "{err}");
    let mut f = Fitter::new(&ctx, &planes, &holes(), tiny()).unwrap();
    let err = f.set_image(&planes, &small_holes).unwrap_err();
    assert!(err.to_string().contains("the mask is 6x30"), "{err}");
}

fn request(revision: u64, holes: HoleMap) -> Request {
    Request {
        document: 7,
        revision,
        image: Arc::new(picture()),
        holes,
        feather: 0,
    }
}

/// The next result event, skipping steps (counted).
fn next_result(s: &FitSession, steps: &mut u64) -> (u64, pconv::app::worker::Finished) {
    loop {
        match s.next_event(Duration::from_secs(300)) {
            Some(FitEvent::Step { step, .. }) => *steps = step,
            Some(FitEvent::Result { step, finished }) => return (step, finished),
            Some(FitEvent::Failed(e)) => panic!("fitting failed: {e}"),
            Some(FitEvent::Saved(_)) => panic!("unexpected save"),
            None => panic!("no result within 300 s"),
        }
    }
}

#[test]
fn fitting_session_refreshes_the_current_mask_pauses_and_saves() {
    let Some(ctx) = gpu() else { return };
    // Fills stay on the device as textures, as in a window sharing it.
    let mut session = FitSession::start(ctx, request(1, holes()), tiny(), true);
    let mut steps = 0;
    let (_, first) = next_result(&session, &mut steps);
    assert_eq!((first.document, first.revision), (7, 1));
    let filled = first.result.unwrap();
    assert!(matches!(filled, Composite::Texture(_)));
    assert_eq!(filled.image().unwrap().dimensions(), (44, 38));
    // A mask edit retargets the running fit; the weights carry on.
    let mut edited = holes();
    edited.holes[2 * 44 + 2] = true;
    session.set_target(request(2, edited.clone()));
    let (step, second) = loop {
        let (step, f) = next_result(&session, &mut steps);
        if f.revision == 2 {
            break (step, f);
        }
    };
    assert!(step >= 1);
    let second = second.result.unwrap().image().unwrap().into_owned();
    assert_ne!(second.get_pixel(2, 2), picture().get_pixel(2, 2));
    // Paused: no more steps.
    session.set_paused(true);
    while session.next_event(Duration::from_secs(5)).is_some() {}
    assert!(session.poll().is_empty());
    // Saving works while paused, and the file is the fitted network.
    let dir = common::Scratch::new("fit");
    let path = dir.join("fitted.safetensors");
    session.save(path.clone());
    match session.next_event(Duration::from_secs(60)) {
        Some(FitEvent::Saved(Ok(p))) => assert_eq!(p, path),
        _ => panic!("no save report"),
    }
    let ck = Checkpoint::read(&path).unwrap();
    assert_eq!(ck.config, tiny().net);
    assert!(ck.step >= steps && steps >= 1, "{} {steps}", ck.step);
}
