//! Hostile input, through the `pconv` binary: every case exits non-zero with
//! one `error:` line naming the file and the problem, or succeeds with a
//! correct result; none panics, aborts or hangs (each runs under a
//! timeout); no input file changes. Everything is generated here.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pconv::io::safetensors::SafeTensors;
use pconv::model::{Checkpoint, UNetConfig};

pub fn dir(name: &str) -> common::Scratch {
    common::Scratch::new(&format!("bad-{name}"))
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What a finished `pconv` run left.
pub struct Ran {
    pub code: Option<i32>,
    pub stderr: String,
    pub stdout: String,
}

/// Runs pconv in `cwd`, killing it (and failing) after `limit`.
pub fn pconv_in(cwd: &Path, args: &[&str], limit: Duration) -> Ran {
    let child = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .args(args)
        .current_dir(cwd)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let killer = std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < limit {
            std::thread::sleep(Duration::from_millis(50));
            if !Path::new(&format!("/proc/{id}")).exists() {
                return false;
            }
        }
        let _ = Command::new("kill")
            .args(["-KILL", &id.to_string()])
            .status();
        true
    });
    let out = child.wait_with_output().unwrap();
    let hung = killer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !hung,
        "pconv {args:?} did not end within {limit:?}: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "pconv {args:?} panicked: {stderr}"
    );
    assert!(
        out.status.code().is_some(),
        "pconv {args:?} died of a signal: {stderr}"
    );
    Ran {
        code: out.status.code(),
        stderr,
        stdout: String::from_utf8_lossy(&out.stdout).to_string(),
    }
}

pub fn pconv(args: &[&str]) -> Ran {
    pconv_in(&std::env::temp_dir(), args, Duration::from_secs(300))
}

/// Exit code 1 and exactly one `error:` line containing every needle.
#[track_caller]
pub fn fails_with(r: &Ran, needles: &[&str]) {
    assert_eq!(r.code, Some(1), "expected an error: {}", r.stderr);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {}", r.stderr);
    for n in needles {
        assert!(errors[0].contains(n), "{n:?} missing from: {}", errors[0]);
    }
}

#[track_caller]
pub fn succeeds(r: &Ran) {
    assert_eq!(r.code, Some(0), "expected success: {}", r.stderr);
}

/// Every regular file below `root` (links not followed) with its bytes.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.insert(e.path(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

pub fn photo(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([
            (x * 7 % 256) as u8,
            (y * 5 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    })
}

/// A mask with a small square hole (clipped to the image).
pub fn mask(w: u32, h: u32) -> image::GrayImage {
    image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([
            if (w / 4..w / 4 + 4).contains(&x) && (h / 4..h / 4 + 3).contains(&y) {
                255
            } else {
                0
            },
        ])
    })
}

/// A PNG whose header claims `w` x `h` pixels, with almost no pixel data.
fn png_header_only(path: &Path, w: u32, h: u32) {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    bytes.extend(13u32.to_be_bytes());
    bytes.extend(&ihdr);
    bytes.extend(crc32(&ihdr).to_be_bytes());
    // The start of the pixel data, cut short.
    let idat = b"IDAT\x78\x9c\x63\x60";
    bytes.extend(4u32.to_be_bytes());
    bytes.extend(idat);
    bytes.extend(crc32(idat).to_be_bytes());
    std::fs::write(path, bytes).unwrap();
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A small checkpoint written through `edit` of its raw tensors/metadata.
fn checkpoint_with(path: &Path, adam: bool, edit: impl FnOnce(&mut SafeTensors)) {
    let mut ck = Checkpoint::initial(
        UNetConfig {
            levels: 3,
            width: 0.125,
        },
        5,
    )
    .unwrap();
    if adam {
        let moments = ck
            .tensors
            .iter()
            .filter(|(n, _)| !n.contains("running_"))
            .map(|(n, t)| {
                let mut v = t.clone();
                v.data.iter_mut().for_each(|x| *x = *x * *x);
                (n.clone(), (t.clone(), v))
            })
            .collect();
        ck.adam = Some(pconv::model::AdamState { moments, step: 3 });
    }
    ck.write(path).unwrap();
    let mut raw = SafeTensors::read(path).unwrap();
    edit(&mut raw);
    raw.write_atomic(path).unwrap();
}

#[test]
fn hostile_files_and_numbers_are_one_line_errors_or_correct_results() {
    let d = dir("corpus");
    let (inp, out) = (d.join("in"), d.join("out"));
    std::fs::create_dir_all(&out).unwrap();
    let loops = inp.join("loops");
    std::fs::create_dir_all(&loops).unwrap();
    photo(40, 30).save(loops.join("face.png")).unwrap();
    std::os::unix::fs::symlink(".", loops.join("a")).unwrap();
    std::os::unix::fs::symlink(".", loops.join("b")).unwrap();
    let fifo = loops.join("fifo.png");
    common::mkfifo(&fifo);
    let (img, msk) = (inp.join("img.png"), inp.join("mask.png"));
    photo(40, 30).save(&img).unwrap();
    mask(40, 30).save(&msk).unwrap();
    let jpeg = inp.join("photo.jpg");
    photo(64, 48).save(&jpeg).unwrap();
    let bytes = std::fs::read(&jpeg).unwrap();
    let cut_jpeg = inp.join("cut.jpg");
    std::fs::write(&cut_jpeg, &bytes[..bytes.len() / 2]).unwrap();
    let bytes = std::fs::read(&img).unwrap();
    let cut_png = inp.join("cut.png");
    std::fs::write(&cut_png, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let huge = inp.join("huge.png");
    png_header_only(&huge, 1_000_000, 1_000_000);
    let (one, thin) = (inp.join("one.png"), inp.join("thin.png"));
    photo(1, 1).save(&one).unwrap();
    photo(3, 700).save(&thin).unwrap();
    let ck = inp.join("model.safetensors");
    checkpoint_with(&ck, true, |_| {});
    let before = snapshot(&inp);

    let o = |name: &str| out.join(name).to_str().unwrap().to_string();
    let inpaint = |image: &Path, mask: &Path, output: &str, extra: &[&str]| {
        let mut a = vec![
            "inpaint",
            "--image",
            s(image),
            "--mask",
            s(mask),
            "--output",
            output,
        ];
        a.extend_from_slice(extra);
        pconv(&a)
    };
    let telea = ["--method", "telea"];

    // Folder walks: links back to a parent neither loop nor repeat the
    // image, and the FIFO is not opened.
    let json = o("loops.json");
    let r = pconv(&[
        "eval",
        "--images",
        s(&loops),
        "--masks",
        s(&msk),
        "--method",
        "telea",
        "--no-losses",
        "--json",
        &json,
    ]);
    succeeds(&r);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["images"].as_array().unwrap().len(), 1, "{v}");
    // Special files named directly.
    fails_with(
        &inpaint(&fifo, &msk, &o("f.png"), &telea),
        &["fifo.png", "not a regular file"],
    );
    fails_with(
        &inpaint(&img, &fifo, &o("f.png"), &telea),
        &["fifo.png", "not a regular file"],
    );
    fails_with(
        &inpaint(&img, &msk, &o("f.png"), &["--model", s(&fifo)]),
        &["fifo.png", "not a regular file"],
    );
    // Damaged and absurd images.
    fails_with(
        &inpaint(&cut_jpeg, &msk, &o("j.png"), &telea),
        &["cut.jpg", "truncated"],
    );
    fails_with(&inpaint(&cut_png, &msk, &o("p.png"), &telea), &["cut.png"]);
    fails_with(
        &inpaint(&huge, &msk, &o("h.png"), &telea),
        &["huge.png", "1000000x1000000", "MB"],
    );
    // Absurd numbers: refused up front with the range.
    for (args, needles) in [
        (
            &[
                "eval",
                "--images",
                s(&img),
                "--masks",
                s(&msk),
                "--size",
                "100000",
            ][..],
            &["--size", "8192"][..],
        ),
        (
            &[
                "eval",
                "--images",
                s(&img),
                "--masks",
                s(&msk),
                "--size",
                "0",
            ],
            &["--size", "1 to 8192"],
        ),
        (
            &["train", "--data", s(&inp), "--width", "NaN"],
            &["--width", "at most 16"],
        ),
        (&["train", "--data", s(&inp), "--lr=-1"], &["--lr"]),
        (
            &["train", "--data", s(&inp), "--batch", "0"],
            &["--batch", "1 to"],
        ),
        (&["train", "--data", s(&inp), "--steps", "0"], &["--steps"]),
        (
            &["masks", "--count", "0", "--size", "8", "--output", &o("m")],
            &["--count"],
        ),
        (
            &[
                "masks",
                "--count",
                "1",
                "--size",
                "8",
                "--output",
                &o("m"),
                "--min-ratio",
                "NaN",
            ],
            &["--min-ratio", "0 to 1"],
        ),
        (
            &[
                "inpaint",
                "--image",
                s(&img),
                "--mask",
                s(&msk),
                "--output",
                &o("x.png"),
                "--max-side",
                "0",
            ],
            &["--max-side"],
        ),
        (&["bench", "--size", "0"], &["--size"]),
    ] {
        let r = pconv(args);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        for n in needles {
            assert!(
                r.stderr.contains(n),
                "{args:?}: {n:?} missing: {}",
                r.stderr
            );
        }
    }
    // Tiny images: the VGG terms say what they need; without them it works.
    for tiny in [&one, &thin] {
        let r = pconv(&[
            "eval",
            "--images",
            s(tiny),
            "--masks",
            s(&msk),
            "--method",
            "telea",
            "--losses",
        ]);
        fails_with(&r, &["8x8", "without --losses"]);
        let r = pconv(&[
            "eval",
            "--images",
            s(tiny),
            "--masks",
            s(&msk),
            "--method",
            "telea",
        ]);
        succeeds(&r);
        assert!(r.stdout.contains("all"), "{}", r.stdout);
    }
    // A missing image is named as missing, whatever the mask is.
    fails_with(
        &inpaint(&inp.join("nothing/here.png"), &inp, &o("n.png"), &telea),
        &["--image", "here.png", "does not exist"],
    );

    // Outputs that are inputs, spelled differently, are refused.
    let dotted = inp.join("loops/../img.png");
    fails_with(&inpaint(&img, &msk, s(&dotted), &telea), &["is the image"]);
    let r = pconv_in(
        &inp,
        &[
            "inpaint",
            "--image",
            s(&img),
            "--mask",
            s(&msk),
            "--output",
            "./mask.png",
            "--method",
            "telea",
        ],
        Duration::from_secs(60),
    );
    fails_with(&r, &["is the mask"]);
    fails_with(
        &inpaint(&loops, &msk, s(&loops.join("a")), &telea),
        &["is the image folder"],
    );
    let r = pconv_in(
        &inp,
        &[
            "export",
            "--checkpoint",
            "model.safetensors",
            "--out",
            s(&loops.join("../model.safetensors")),
        ],
        Duration::from_secs(60),
    );
    fails_with(&r, &["must differ"]);

    // Checkpoints that lie: every fault names its tensor or key.
    let lie = |name: &str, adam: bool, edit: &dyn Fn(&mut SafeTensors)| {
        let path = out.join(name);
        checkpoint_with(&path, adam, edit);
        inpaint(&img, &msk, &o("c.png"), &["--checkpoint", s(&path)])
    };
    let set = |t: &mut SafeTensors, name: &str, v: f32| {
        t.tensors.get_mut(name).unwrap().data[0] = v;
    };
    fails_with(
        &lie("nan.safetensors", false, &|t| {
            set(t, "enc1.weight", f32::NAN)
        }),
        &["enc1.weight", "NaN"],
    );
    fails_with(
        &lie("inf.safetensors", false, &|t| {
            set(t, "dec2.bn.running_mean", f32::INFINITY)
        }),
        &["dec2.bn.running_mean", "inf"],
    );
    fails_with(
        &lie("var.safetensors", false, &|t| {
            set(t, "enc2.bn.running_var", -1.0)
        }),
        &["enc2.bn.running_var", "negative"],
    );
    fails_with(
        &lie("levels.safetensors", false, &|t| {
            t.metadata.insert("levels".into(), "2".into());
        }),
        &["unexpected tensor", "levels 2"],
    );
    fails_with(
        &lie("extra.safetensors", false, &|t| {
            let w = t.tensors["enc1.weight"].clone();
            t.tensors.insert("enc9.weight".into(), w);
        }),
        &["unexpected tensor enc9.weight"],
    );
    fails_with(
        &lie("m.safetensors", true, &|t| {
            t.tensors.remove("adam.m.dec1.weight");
        }),
        &["adam.m.dec1.weight"],
    );
    fails_with(
        &lie("ema.safetensors", false, &|t| {
            let w = t.tensors["enc1.weight"].clone();
            t.tensors.insert("ema.enc1.weight".into(), w);
        }),
        &["missing tensor ema."],
    );
    fails_with(
        &lie("mnan.safetensors", true, &|t| {
            set(t, "adam.v.enc1.weight", f32::NAN)
        }),
        &["adam.v.enc1.weight"],
    );
    for (name, step) in [("snan", f32::NAN), ("sneg", -3.0), ("sfrac", 2.5)] {
        let r = lie(&format!("{name}.safetensors"), true, &|t| {
            set(t, "adam.step", step)
        });
        fails_with(&r, &["adam.step"]);
    }
    fails_with(
        &lie("step.safetensors", false, &|t| {
            t.metadata.insert("step".into(), u64::MAX.to_string());
        }),
        &["metadata 'step'", "18446744073709551615"],
    );
    let dtype = out.join("dtype.safetensors");
    checkpoint_with(&dtype, false, |_| {});
    let mut bytes = std::fs::read(&dtype).unwrap();
    let at = bytes
        .windows(13)
        .position(|w| w == b"\"dtype\":\"F32\"")
        .unwrap();
    bytes[at + 9..at + 12].copy_from_slice(b"F16");
    std::fs::write(&dtype, bytes).unwrap();
    fails_with(
        &inpaint(&img, &msk, &o("c.png"), &["--checkpoint", s(&dtype)]),
        &["dtype F16"],
    );
    // The good checkpoint still works, and export refuses the NaN one.
    let r = pconv(&[
        "export",
        "--checkpoint",
        s(&out.join("nan.safetensors")),
        "--out",
        &o("e.safetensors"),
    ]);
    fails_with(&r, &["enc1.weight"]);

    assert!(snapshot(&inp) == before, "an input file changed");
}

/// Outputs are renamed into place, and a rename replaces whatever has the
/// name: a pipe or device named as the output is refused and stays what it
/// was (as root, `--out /dev/null` would otherwise replace the system's),
/// and a symbolic link is written through, staying a link.
#[test]
fn outputs_never_replace_pipes_or_devices_and_write_through_links() {
    use std::os::unix::fs::FileTypeExt;
    let d = dir("outputs");
    let (img, msk) = (d.join("img.png"), d.join("mask.png"));
    photo(40, 30).save(&img).unwrap();
    mask(40, 30).save(&msk).unwrap();
    let ck = d.join("model.safetensors");
    checkpoint_with(&ck, true, |_| {});
    let telea = |out: &Path| {
        pconv(&[
            "inpaint",
            "--image",
            s(&img),
            "--mask",
            s(&msk),
            "--output",
            s(out),
            "--method",
            "telea",
        ])
    };
    let export = |out: &Path| pconv(&["export", "--checkpoint", s(&ck), "--out", s(out)]);
    let is_fifo = |p: &Path| std::fs::symlink_metadata(p).unwrap().file_type().is_fifo();

    let (fifo_png, fifo_st) = (d.join("pipe.png"), d.join("pipe.safetensors"));
    common::mkfifo(&fifo_png);
    common::mkfifo(&fifo_st);
    fails_with(
        &telea(&fifo_png),
        &["pipe.png", "not a regular file", "not replaced"],
    );
    fails_with(
        &export(&fifo_st),
        &["pipe.safetensors", "not a regular file"],
    );
    assert!(
        is_fifo(&fifo_png) && is_fifo(&fifo_st),
        "a pipe was replaced"
    );
    let folder = d.join("folder.safetensors");
    std::fs::create_dir(&folder).unwrap();
    fails_with(&export(&folder), &["folder.safetensors", "is a folder"]);
    // Output folders: a pipe or a file there is named as what it is.
    let masks = |out: &Path| pconv(&["masks", "--out", s(out), "--count", "1", "--size", "32"]);
    fails_with(&masks(&fifo_png), &["pipe.png", "is not a folder"]);
    fails_with(&masks(&img), &["img.png", "is a file, not a folder"]);
    if common::gpu().is_some() {
        let train = pconv(&[
            "train",
            "--headless",
            "--data",
            s(d.path()),
            "--out",
            s(&ck),
            "--steps",
            "1",
        ]);
        fails_with(&train, &["model.safetensors", "is a file, not a folder"]);
    }
    assert!(is_fifo(&fifo_png));
    // Reports: a pipe nobody reads is an error (opening it would wait
    // forever); one that a program reads gets the report.
    let report = |json: &Path| {
        pconv(&[
            "eval",
            "--images",
            s(&img),
            "--masks",
            s(&msk),
            "--method",
            "telea",
            "--json",
            s(json),
        ])
    };
    let fifo_json = d.join("report.json");
    common::mkfifo(&fifo_json);
    fails_with(
        &report(&fifo_json),
        &["report.json", "no process is reading"],
    );
    let reader = {
        let fifo = fifo_json.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    // The reader's open may come after pconv's first try: retry until it
    // has opened (each try fails at once, so this cannot hang).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while report(&fifo_json).code != Some(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "the reader never opened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let v: serde_json::Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(v["method"], "telea");
    assert!(is_fifo(&fifo_json));
    let dangling = d.join("dangling.png");
    std::os::unix::fs::symlink(d.join("nowhere/x.png"), &dangling).unwrap();
    fails_with(&telea(&dangling), &["dangling.png", "does not exist"]);

    // Through links: the file they name is written, the links stay links.
    let through_link = |ext: &str, write: &dyn Fn(&Path) -> Ran| {
        let (real, link) = (d.join(format!("real.{ext}")), d.join(format!("link.{ext}")));
        std::fs::write(&real, b"old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        succeeds(&write(&link));
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "{} was replaced",
            link.display()
        );
        real
    };
    let png = through_link("png", &telea);
    assert_eq!(image::open(&png).unwrap().to_rgb8().dimensions(), (40, 30));
    let st = through_link("safetensors", &export);
    assert!(Checkpoint::read(&st).unwrap().adam.is_none());
    // Nothing but the named outputs changed.
    let left: Vec<String> = std::fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// `eval --images DIR --masks DIR/masks`: the masks are not evaluated as
/// images too, and a mask folder that is the image folder is refused.
#[test]
fn a_mask_folder_inside_the_image_folder_is_not_evaluated() {
    let d = dir("eval-inside");
    let masks = d.join("masks");
    std::fs::create_dir_all(&masks).unwrap();
    for name in ["a", "b"] {
        photo(24, 20).save(d.join(format!("{name}.png"))).unwrap();
        mask(24, 20)
            .save(masks.join(format!("{name}.png")))
            .unwrap();
    }
    let json = d.join("report.json");
    let eval = |masks: &Path| {
        pconv(&[
            "eval",
            "--images",
            s(d.path()),
            "--masks",
            s(masks),
            "--method",
            "telea",
            "--json",
            s(&json),
        ])
    };
    let r = eval(&masks);
    succeeds(&r);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["images"].as_array().unwrap().len(), 2, "{v}");
    fails_with(&eval(d.path()), &["--masks", "is the --images folder"]);
}

#[test]
fn a_decoded_image_may_pass_the_image_crates_default_limit() {
    // 12000 x 12000 RGBA is 576 MB decoded, past the image crate's
    // default 512 MiB; pconv sets its limit from the machine's memory.
    let d = dir("big");
    let (img, msk, out) = (d.join("big.png"), d.join("mask.png"), d.join("out.png"));
    let (w, h) = (12_000, 12_000);
    image::RgbaImage::from_fn(w, h, |x, _| image::Rgba([(x % 256) as u8, 90, 30, 255]))
        .save(&img)
        .unwrap();
    image::GrayImage::from_fn(w, h, |x, y| {
        image::Luma([if (6000..6010).contains(&x) && (6000..6010).contains(&y) {
            255
        } else {
            0
        }])
    })
    .save(&msk)
    .unwrap();
    let r = pconv(&[
        "inpaint",
        "--image",
        s(&img),
        "--mask",
        s(&msk),
        "--output",
        s(&out),
        "--method",
        "telea",
    ]);
    succeeds(&r);
    // (Read here without the image crate's own 512 MiB limit.)
    let mut reader = image::ImageReader::open(&out).unwrap();
    reader.no_limits();
    let back = reader.decode().unwrap();
    assert_eq!((back.width(), back.height()), (w, h));
    let back = back.to_rgb8();
    assert_eq!(back.get_pixel(100, 100), &image::Rgb([100, 90, 30]));
    // The hole is filled from its neighbours: all of them have G = 90.
    assert_eq!(back.get_pixel(6005, 6005)[1], 90);
}

#[test]
fn the_bundled_model_inpaints_1024_pixels_on_any_adapter() {
    // On lavapipe a 1024x1024 forward pass has a tensor past the binding
    // limit; the network then runs downscaled and known pixels stay.
    if common::gpu().is_none() {
        return;
    }
    let d = dir("1024");
    let (img, msk, out) = (d.join("photo.png"), d.join("mask.png"), d.join("out.png"));
    photo(1024, 1024).save(&img).unwrap();
    mask(1024, 1024).save(&msk).unwrap();
    let r = pconv(&[
        "inpaint",
        "--image",
        s(&img),
        "--mask",
        s(&msk),
        "--output",
        s(&out),
        "--ensemble",
        "1",
    ]);
    succeeds(&r);
    assert!(
        !r.stderr.contains("--batch"),
        "no flag inpaint lacks: {}",
        r.stderr
    );
    let (a, b) = (
        image::open(&img).unwrap().to_rgb8(),
        image::open(&out).unwrap().to_rgb8(),
    );
    let holes = pconv::raster::HoleMap::read(&msk).unwrap();
    let mut changed = 0;
    for (x, y, p) in b.enumerate_pixels() {
        if holes.holes[(y * 1024 + x) as usize] {
            changed += usize::from(p != a.get_pixel(x, y));
        } else {
            assert_eq!(p, a.get_pixel(x, y), "known pixel ({x}, {y})");
        }
    }
    assert!(changed > 0);
}

/// A folder of `good` readable training images and `bad` corrupt ones.
fn images(d: &Path, good: u32, bad: u32) -> PathBuf {
    let dir = d.join("images");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..good {
        photo(20 + i, 18)
            .save(dir.join(format!("g{i}.png")))
            .unwrap();
    }
    for i in 0..bad {
        std::fs::write(dir.join(format!("b{i}.png")), b"\x89PNG\r\n\x1a\nbroken").unwrap();
    }
    dir
}

/// `d/masks` with one readable mask and `bad` unreadable ones.
fn mask_folder(d: &Path, bad: u32) -> PathBuf {
    let dir = d.join("masks");
    std::fs::create_dir_all(&dir).unwrap();
    mask(30, 30).save(dir.join("good.png")).unwrap();
    for i in 0..bad {
        std::fs::write(dir.join(format!("bad{i}.png")), b"not a png").unwrap();
    }
    dir
}

/// `pconv --headless train` of a tiny network (L2, 16x16, batch 2); `extra`
/// flags replace the defaults of the same name.
fn train_args<'a>(
    data: &'a Path,
    out: &'a Path,
    steps: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let defaults = [
        ("--size", "16"),
        ("--batch", "2"),
        ("--levels", "2"),
        ("--width", "0.0625"),
        ("--checkpoint-every", "2"),
        ("--sample-every", "3"),
        ("--seed", "9"),
    ];
    let mut a = vec![
        "--headless",
        "train",
        "--data",
        s(data),
        "--out",
        s(out),
        "--steps",
        steps,
    ];
    for (flag, value) in defaults {
        if !extra.contains(&flag) {
            a.extend([flag, value]);
        }
    }
    a.extend_from_slice(extra);
    a
}

fn train(data: &Path, out: &Path, steps: &str, extra: &[&str]) -> Ran {
    pconv(&train_args(data, out, steps, extra))
}

fn metrics_steps(out: &Path) -> Vec<u64> {
    std::fs::read_to_string(out.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| pconv::train::StepMetrics::from_json(l).unwrap().step)
        .collect()
}

fn spawn_train(args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_pconv"))
        .args(args)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `done` while `child` runs.
fn wait_until(
    child: &mut std::process::Child,
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !done() {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err);
            panic!("pconv ended ({status}) before {what}: {err}");
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

#[test]
fn two_runs_cannot_share_a_folder_and_a_signal_saves_and_exits_130() {
    if common::gpu().is_none() {
        return;
    }
    let d = dir("lock");
    let (data, out) = (images(&d, 3, 0), d.join("run"));
    let mut first = spawn_train(&train_args(&data, &out, "100000", &[]));
    let metrics = out.join("metrics.jsonl");
    wait_until(
        &mut first,
        "the first run's checkpoint",
        Duration::from_secs(120),
        || {
            std::fs::read_to_string(&metrics).is_ok_and(|t| t.lines().count() >= 3)
                && out.join("latest.safetensors").exists()
        },
    );
    let second = train(&data, &out, "4", &[]);
    fails_with(
        &second,
        &[
            "in use by another pconv training",
            &format!("process {}", first.id()),
        ],
    );
    let resumed = train(
        &data,
        &out,
        "4",
        &["--resume", s(&out.join("latest.safetensors"))],
    );
    fails_with(&resumed, &["in use by another pconv training"]);
    // SIGTERM (as Ctrl-C): the step in flight ends, a checkpoint is saved,
    // and the exit code says "interrupted".
    let t = Instant::now();
    signal(&first, "-TERM");
    let status = first.wait().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "slow to stop: {:?}",
        t.elapsed()
    );
    let mut err = String::new();
    std::io::Read::read_to_string(first.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    let saved = Checkpoint::read(&out.join("latest.safetensors")).unwrap();
    assert_eq!(saved.step, *metrics_steps(&out).last().unwrap());

    // A lock left by a killed process is taken over, with a note.
    let mut third = spawn_train(&train_args(
        &data,
        &out,
        "100000",
        &["--resume", s(&out.join("latest.safetensors"))],
    ));
    wait_until(
        &mut third,
        "the resumed run's steps",
        Duration::from_secs(120),
        || metrics_steps(&out).len() > saved.step as usize + 1,
    );
    signal(&third, "-KILL");
    third.wait().unwrap();
    let r = train(
        &data,
        &out,
        &(saved.step + 30).to_string(),
        &["--resume", s(&out.join("latest.safetensors"))],
    );
    succeeds(&r);
    assert!(r.stderr.contains("taking over"), "{}", r.stderr);
    let steps = metrics_steps(&out);
    assert_eq!(
        steps,
        (1..=saved.step + 30).collect::<Vec<_>>(),
        "every step once"
    );
}

#[test]
fn resume_never_mixes_two_runs_and_a_kill_at_its_start_loses_no_metrics() {
    if common::gpu().is_none() {
        return;
    }
    let d = dir("runs");
    let data = images(&d, 3, 0);
    let (a, b) = (d.join("a"), d.join("b"));
    succeeds(&train(&data, &a, "4", &[]));
    succeeds(&train(&data, &b, "4", &["--seed", "3"]));
    let a_before = snapshot(&a);
    // Run b's checkpoint into a's folder: refused, a untouched.
    let r = train(
        &data,
        &a,
        "6",
        &["--resume", s(&b.join("latest.safetensors"))],
    );
    fails_with(&r, &["holds run", "from run"]);
    // A fresh run into a used folder: refused too.
    fails_with(
        &train(&data, &a, "6", &[]),
        &["already holds a run", "--resume"],
    );
    assert!(snapshot(&a) == a_before, "run a's folder changed");
    // A checkpoint whose settings are unreadable is refused, not guessed.
    let odd = d.join("odd.safetensors");
    let mut raw = SafeTensors::read(&a.join("latest.safetensors")).unwrap();
    raw.metadata.insert("train.seed".into(), "abc".into());
    raw.write_atomic(&odd).unwrap();
    // (No --seed: the checkpoint's would be used.)
    let c = d.join("c");
    let mut args = train_args(&data, &c, "6", &["--resume", s(&odd)]);
    let at = args.iter().position(|a| *a == "--seed").unwrap();
    args.drain(at..at + 2);
    fails_with(&pconv(&args), &["train.seed", "abc"]);

    // Resuming rewrites metrics.jsonl (dropping steps past the checkpoint)
    // by rename: a kill at any moment leaves every kept line.
    let latest = a.join("latest.safetensors");
    let mut text = std::fs::read_to_string(a.join("metrics.jsonl")).unwrap();
    let line = text.lines().next().unwrap().to_string();
    for _ in 0..200_000 {
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(a.join("metrics.jsonl"), &text).unwrap();
    let lines = text.lines().count();
    // Killed the moment the file starts to change (its temporary copy
    // appears, or its size moves), wherever the rewrite is.
    let metrics = a.join("metrics.jsonl");
    let tmp = a.join(".metrics.jsonl.tmp");
    let size = std::fs::metadata(&metrics).unwrap().len();
    for round in 0..2 {
        let mut child = spawn_train(&train_args(&data, &a, "100000", &["--resume", s(&latest)]));
        wait_until(
            &mut child,
            "the rewrite to start",
            Duration::from_secs(120),
            || tmp.exists() || std::fs::metadata(&metrics).map_or(true, |m| m.len() != size),
        );
        signal(&child, "-KILL");
        child.wait().unwrap();
        let now = std::fs::read_to_string(&metrics).unwrap();
        let kept = now
            .lines()
            .filter(|l| pconv::train::StepMetrics::from_json(l).is_ok_and(|m| m.step <= 4))
            .count();
        assert_eq!(kept, lines, "round {round}: lines of kept steps lost");
        // Back to the checkpoint's lines for the next round.
        std::fs::write(&metrics, &text).unwrap();
    }
}

/// A run folder inside its data folder: its sample grids and checkpoints
/// are never trained on (a resume would otherwise add them as images), and
/// the data folder itself is refused as the run folder.
#[test]
fn a_run_folder_inside_its_data_is_not_trained_on() {
    if common::gpu().is_none() {
        return;
    }
    let d = dir("inside");
    let data = images(&d, 3, 0);
    let masks = mask_folder(&data, 0);
    let out = data.join("run");
    let r = train(
        &data,
        &out,
        "2",
        &["--sample-every", "1", "--masks", s(&masks)],
    );
    succeeds(&r);
    assert!(
        r.stderr.contains("on 3 images"),
        "the masks were trained on: {}",
        r.stderr
    );
    assert!(r.stderr.contains("is inside"), "{}", r.stderr);
    assert!(out.join("samples").read_dir().unwrap().count() >= 2);
    let latest = out.join("latest.safetensors");
    let r = train(
        &data,
        &out,
        "3",
        &["--resume", s(&latest), "--masks", s(&masks)],
    );
    succeeds(&r);
    assert!(r.stderr.contains("on 3 images"), "{}", r.stderr);
    let before = snapshot(&data);
    fails_with(
        &train(&data, &data, "1", &[]),
        &["--out", "is the --data folder"],
    );
    fails_with(
        &train(&data, &d.join("run2"), "1", &["--masks", s(&data)]),
        &["--masks", "is the --data folder"],
    );
    assert_eq!(
        snapshot(&data),
        before,
        "the refused run wrote into the data"
    );
}

#[test]
fn a_full_disk_and_bad_files_cost_warnings_not_the_run() {
    if common::gpu().is_none() {
        return;
    }
    let d = dir("faults");
    // One readable image among four, one readable mask among four, with
    // batch 2: training goes on with what is readable and says what not.
    let data = images(&d, 1, 3);
    let masks = mask_folder(&d, 3);
    // A full disk: the first sample's temporary file and metrics.jsonl
    // both lead to /dev/full.
    let out = d.join("run");
    std::fs::create_dir_all(out.join("samples")).unwrap();
    let tmp = out.join("samples/.step-0000003.png.tmp");
    std::os::unix::fs::symlink("/dev/full", &tmp).unwrap();
    std::os::unix::fs::symlink("/dev/full", out.join("metrics.jsonl")).unwrap();
    let r = train(&data, &out, "6", &["--masks", s(&masks)]);
    succeeds(&r);
    for needle in [
        "skipping unreadable image",
        "b0.png",
        "skipping unreadable mask",
        "sample at step 3 not written",
        "metrics.jsonl could not be written",
    ] {
        assert!(
            r.stderr.contains(needle),
            "{needle:?} missing: {}",
            r.stderr
        );
    }
    assert!(
        std::fs::symlink_metadata(&tmp).is_err(),
        "the temporary file is left"
    );
    assert!(
        out.join("samples/step-0000006.png").exists(),
        "the next sample is written"
    );
    assert_eq!(
        Checkpoint::read(&out.join("latest.safetensors"))
            .unwrap()
            .step,
        6
    );

    // No readable image at all: say so.
    let none_dir = dir("faults-none");
    let none = images(&none_dir, 0, 3);
    fails_with(
        &train(&none, &d.join("none"), "2", &[]),
        &["none of the 3 training images is readable"],
    );
}

#[test]
fn a_fatal_error_during_training_saves_the_last_step_first() {
    if common::gpu().is_none() {
        return;
    }
    let d = dir("fatal");
    let (data, out) = (images(&d, 3, 0), d.join("run"));
    let mut child = spawn_train(&train_args(
        &data,
        &out,
        "100000",
        &["--checkpoint-every", "100000"],
    ));
    let metrics = out.join("metrics.jsonl");
    wait_until(&mut child, "some steps", Duration::from_secs(120), || {
        std::fs::read_to_string(&metrics).is_ok_and(|t| t.lines().count() >= 3)
    });
    // The images vanish: the loader fails once its queued batches are used.
    std::fs::remove_dir_all(&data).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("were saved first"), "{err}");
    let saved = Checkpoint::read(&out.join("latest.safetensors")).unwrap();
    assert_eq!(saved.step, *metrics_steps(&out).last().unwrap(), "{err}");
}

/// Several `--data` folders, one weighted (`DIR:3`), train; a weight of 0
/// and a folder given twice are errors (first line) before any training.
#[test]
fn several_weighted_data_folders_train_and_bad_weights_are_errors() {
    if common::gpu().is_none() {
        return;
    }
    let d = dir("sources");
    let first = images(&d.join("a"), 2, 0);
    let second = images(&d.join("b"), 1, 0);
    let weighted = format!("{}:3", second.display());
    let out = d.join("run");
    let r = train(&first, &out, "2", &["--data", &weighted]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(metrics_steps(&out), [1, 2]);
    for (arg, needle) in [
        (format!("{}:0", second.display()), "1 to 1000"),
        (first.display().to_string(), "given twice"),
    ] {
        let r = train(&first, &d.join("refused"), "2", &["--data", &arg]);
        assert_ne!(r.code, Some(0), "{arg} accepted");
        let first_line = r.stderr.lines().next().unwrap_or_default();
        assert!(
            first_line.starts_with("error:") && first_line.contains(needle),
            "{arg}: {}",
            r.stderr
        );
        assert!(
            !d.join("refused").exists(),
            "{arg}: a refused run made its folder"
        );
    }
}
