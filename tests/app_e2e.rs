//! The desktop app end to end, through a real window: under a virtual X
//! display (Xvfb) `pconv app` opens a photo, xdotool paints one stroke and
//! drags one rectangle with the mouse and presses Ctrl+S, and the saved
//! image must equal the photo outside the two and differ inside them;
//! Ctrl+Q quits, and the settings the run changed are remembered. Needs Xvfb and xdotool; without
//! them the test skips, unless PCONV_REQUIRE_GPU=1 (CI) makes that a failure.
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Ends the process when dropped (also when an assertion fails): SIGTERM
/// first, so Xvfb removes its lock file, then SIGKILL.
struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .stderr(Stdio::null())
            .status();
        for _ in 0..20 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One virtual display at a time: two Xvfb servers started together in
/// this process sometimes left one test unable to connect.
static DISPLAY_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A virtual X display on a free number (Xvfb picks it and tells us).
fn start_xvfb(size: &str) -> (Guard, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            size,
            "-nolisten",
            "tcp",
            "-noreset",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting Xvfb");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("reading Xvfb's display number");
    let display = format!(":{}", line.trim());
    assert!(display.len() > 1, "Xvfb gave no display number");
    let guard = Guard(child);
    // Connect once before starting pconv: a window opened too early found
    // no X server now and then. `-noreset`: by default Xvfb resets when its
    // last client leaves, so each xdotool call that disconnected opened a
    // moment in which pconv's connection failed (CI saw two in a row).
    wait_for(
        "Xvfb to accept connections",
        Duration::from_secs(30),
        || !xdotool(&display, &["getmouselocation"]).trim().is_empty(),
    );
    (guard, display)
}

fn xdotool(display: &str, args: &[&str]) -> String {
    let out = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .output()
        .expect("running xdotool");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs `pconv ARGS` on the virtual display, output to `log`.
/// The app's remembered settings go to `XDG_DATA_HOME`: the log's folder.
fn start_pconv(args: &[&std::ffi::OsStr], display: &str, log: &Path) -> Guard {
    let file = std::fs::File::create(log).unwrap();
    Guard(
        Command::new(env!("CARGO_BIN_EXE_pconv"))
            .args(args)
            .env("DISPLAY", display)
            .env("XDG_DATA_HOME", log.parent().unwrap())
            .env("XDG_RUNTIME_DIR", std::env::temp_dir())
            .env("WAYLAND_DISPLAY", "")
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("starting pconv"),
    )
}

/// Starts `pconv ARGS` and waits for its window named exactly `name`;
/// returns the process and the window id. If the X connection failed at
/// start (seen now and then right after a fresh Xvfb), it tries once more.
fn start_window(
    args: &[&std::ffi::OsStr],
    display: &str,
    log: &Path,
    name: &str,
) -> (Guard, String) {
    for attempt in 0..2 {
        let mut child = start_pconv(args, display, log);
        let mut window = String::new();
        let mut exited = false;
        wait_for(name, Duration::from_secs(120), || {
            window = xdotool(display, &["search", "--name", &format!("^{name}$")])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            exited = matches!(child.0.try_wait(), Ok(Some(_)));
            !window.is_empty() || exited
        });
        if !window.is_empty() {
            return (child, window);
        }
        let text = std::fs::read_to_string(log).unwrap_or_default();
        assert!(
            attempt == 0 && text.contains("Failed to open connection to X server"),
            "pconv exited without a window: {text}"
        );
        let _ = child.0.wait();
    }
    unreachable!("the second attempt returns or fails")
}

/// True when the tools and the GPU are there; without them the test skips,
/// unless PCONV_REQUIRE_GPU=1 makes that a failure.
fn ready() -> bool {
    let required = std::env::var("PCONV_REQUIRE_GPU").as_deref() == Ok("1");
    if !(have("Xvfb") && have("xdotool")) {
        assert!(
            !required,
            "PCONV_REQUIRE_GPU=1 but Xvfb or xdotool is missing"
        );
        eprintln!("skipping: Xvfb and xdotool are needed");
        return false;
    }
    common::gpu().is_some()
}

/// A textured photo (Telea cannot reproduce it exactly inside a hole)
/// with a plain square for the magic wand.
fn photo(path: &Path) {
    image::RgbImage::from_fn(320, 240, |x, y| {
        if in_square(x, y) {
            return image::Rgb([240, 240, 120]);
        }
        image::Rgb([
            ((x * 7 + y * 3) % 256) as u8,
            ((x * x + y * 5) % 251) as u8,
            (((x / 8 + y / 8) % 2) * 200 + 20) as u8,
        ])
    })
    .save(path)
    .unwrap();
}

/// The photo's plain square (image pixels).
fn in_square(x: u32, y: u32) -> bool {
    (250..300).contains(&x) && (180..230).contains(&y)
}

/// Holds `modifier` while pressing `key` (apart: winit misses xdotool's
/// instant "ctrl+s" chord).
fn chord(display: &str, modifier: &str, key: &str) {
    xdotool(display, &["keydown", modifier]);
    std::thread::sleep(Duration::from_millis(200));
    xdotool(display, &["key", key]);
    std::thread::sleep(Duration::from_millis(200));
    xdotool(display, &["keyup", modifier]);
}

/// Presses the mouse at the first point, moves through the others and
/// releases it at the last.
fn drag(display: &str, points: &[(u32, u32)]) {
    let at = |(x, y): (u32, u32)| xdotool(display, &["mousemove", &x.to_string(), &y.to_string()]);
    // Each step held long enough for a frame of its own even while the
    // worker keeps both cores of a CI machine busy (press, moves and
    // release in one frame would read as a click).
    at(points[0]);
    std::thread::sleep(Duration::from_millis(300));
    xdotool(display, &["mousedown", "1"]);
    std::thread::sleep(Duration::from_millis(250));
    for &p in &points[1..] {
        at(p);
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(250));
    xdotool(display, &["mouseup", "1"]);
    std::thread::sleep(Duration::from_millis(500));
}

/// Opens a photo in the window with `method` (arguments of `pconv app`),
/// paints a stroke and a rectangle with the mouse (a cut taken out of it
/// with Ctrl held), makes the brush larger,
/// saves with Ctrl+S and checks the saved image, quits with Ctrl+Q; returns
/// the app's log and its remembered settings.
fn paint_a_stroke_inpaint_and_save(tag: &str, method: &[&str]) -> (String, String) {
    let _one_display = DISPLAY_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::Scratch::new(&format!("app-{tag}"));
    let input = dir.join("photo.png");
    photo(&input);
    let output = dir.join("photo-inpainted.png");

    let (_xvfb, display) = start_xvfb("1100x760x24");
    let mut args = vec!["app".as_ref(), input.as_os_str()];
    args.extend(method.iter().map(std::ffi::OsStr::new));
    let log = dir.join("app.log");
    let (mut app, window) = start_window(&args, &display, &log, "pconv");
    // Moved to the top-left corner of the screen.
    xdotool(&display, &["windowmove", &window, "0", "0"]);
    xdotool(&display, &["windowsize", &window, "1100", "760"]);
    // Let a few frames render and the view fit the image.
    std::thread::sleep(Duration::from_secs(3));
    let geometry = xdotool(&display, &["getwindowgeometry", &window]);
    eprintln!("{geometry}");

    // Without a window manager nobody gives the window keyboard focus.
    xdotool(&display, &["windowfocus", "--sync", &window]);
    std::thread::sleep(Duration::from_millis(300));

    // The image fills the canvas right of the tool panel, about 2.4 screen
    // pixels per image pixel from (320, 78): a horizontal stroke through
    // its middle (image rows near 125), then with the rectangle tool (R) a
    // box in its upper left (columns about 12..62, rows 17..59).
    let stroke: Vec<(u32, u32)> = (600..=760).step_by(16).map(|x| (x, 380)).collect();
    drag(&display, &stroke);
    xdotool(&display, &["key", "r"]);
    drag(&display, &[(350, 120), (410, 170), (470, 220)]);
    // With Ctrl held, a third of it (16 image pixels square) about its
    // centre is taken away again.
    xdotool(&display, &["keydown", "ctrl"]);
    drag(&display, &[(390, 150), (410, 170), (430, 190)]);
    xdotool(&display, &["keyup", "ctrl"]);
    // The magic wand (W): a click inside the plain square selects it.
    xdotool(&display, &["key", "w"]);
    drag(&display, &[(985, 600)]);
    // A larger brush, to be remembered: 12 px * 1.25.
    xdotool(&display, &["key", "bracketright"]);
    chord(&display, "ctrl", "s");
    wait_for("the saved result", Duration::from_secs(120), || {
        output.exists()
    });

    let saved = image::open(&output).unwrap().to_rgb8();
    let orig = image::open(&input).unwrap().to_rgb8();
    assert_eq!(saved.dimensions(), orig.dimensions());
    let changed: Vec<(u32, u32)> = saved
        .enumerate_pixels()
        .filter(|(x, y, p)| *p != orig.get_pixel(*x, *y))
        .map(|(x, y, _)| (x, y))
        .collect();
    assert!(
        changed.len() > 100,
        "the stroke should change the image inside it ({} pixels changed)",
        changed.len()
    );
    // Every changed pixel lies in the rectangle or in one horizontal band
    // around the middle row (the stroke), none elsewhere: known pixels are
    // kept exactly.
    type Pixels = Vec<(u32, u32)>;
    let (square, changed): (Pixels, Pixels) = changed.iter().partition(|&&(x, y)| in_square(x, y));
    assert!(
        square.len() > 2000,
        "the wand's square should be filled ({} of its 2500 pixels changed)",
        square.len()
    );
    let (upper, band): (Pixels, Pixels) = changed.iter().partition(|&&(_, y)| y < 85);
    let extent = |v: &[(u32, u32)]| {
        let (xs, ys): (Vec<u32>, Vec<u32>) = v.iter().copied().unzip();
        let (x0, x1) = (*xs.iter().min().unwrap(), *xs.iter().max().unwrap());
        let (y0, y1) = (*ys.iter().min().unwrap(), *ys.iter().max().unwrap());
        (x0, x1, y0, y1)
    };
    assert!(
        band.len() > 100,
        "the stroke should change the image ({} pixels)",
        band.len()
    );
    let (xmin, xmax, ymin, ymax) = extent(&band);
    assert!(
        ymax - ymin < 80 && ymin < 150 && ymax > 90,
        "changes span rows {ymin}..{ymax}"
    );
    assert!(xmax - xmin > 40, "the stroke spans columns {xmin}..{xmax}");
    // The rectangle: filled solid (about 48 x 40 image pixels), not a
    // stroke along the drag.
    assert!(
        upper.len() > 1200,
        "the rectangle should change the image ({} pixels)",
        upper.len()
    );
    let (x0, x1, y0, y1) = extent(&upper);
    assert!(
        (10..40).contains(&x0) && (58..90).contains(&x1),
        "rectangle columns {x0}..{x1}"
    );
    assert!(
        (8..35).contains(&y0) && (48..75).contains(&y1),
        "rectangle rows {y0}..{y1}"
    );
    // All of it but the cut (a sixth of it at most), which keeps the photo.
    let filled = upper.len() as f64 / ((x1 - x0 + 1) * (y1 - y0 + 1)) as f64;
    assert!(filled > 0.75, "only {filled:.2} of the rectangle changed");
    let (cx, cy) = ((x0 + x1) / 2, (y0 + y1) / 2);
    for y in cy - 2..=cy + 2 {
        for x in cx - 2..=cx + 2 {
            assert_eq!(
                saved.get_pixel(x, y),
                orig.get_pixel(x, y),
                "({x}, {y}) in the cut taken away with Ctrl"
            );
        }
    }

    // A dab painted after the save: Ctrl+Q only warns (the window stays),
    // Ctrl+Q again closes it, and the settings are stored on the way out.
    xdotool(&display, &["key", "b"]);
    drag(&display, &[(700, 500)]);
    chord(&display, "ctrl", "q");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        matches!(app.0.try_wait(), Ok(None)),
        "the first Ctrl+Q over unsaved holes closed the window"
    );
    chord(&display, "ctrl", "q");
    wait_for("the app to quit", Duration::from_secs(30), || {
        matches!(app.0.try_wait(), Ok(Some(_)))
    });
    let settings = std::fs::read_to_string(dir.join("pconv/app.ron")).unwrap_or_default();
    assert!(settings.contains("radius:15.0"), "{settings}");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    (text, settings)
}

#[test]
fn paint_a_stroke_inpaint_with_telea_and_save_through_the_window() {
    if !ready() {
        return;
    }
    let (log, settings) = paint_a_stroke_inpaint_and_save("telea", &["--method", "telea"]);
    assert!(
        settings.contains("method:Some(Classical(Telea))"),
        "{settings}"
    );
    // lavapipe's default: the engine on a device of its own.
    if common::gpu().is_some_and(|g| g.is_cpu()) {
        assert!(log.contains("a device of its own"), "{log}");
    }
}

/// The face model on the window's own device: the composite is drawn
/// straight from the texture the network's output was written into, and
/// the saved file is that texture read back.
#[test]
fn paint_a_stroke_inpaint_with_the_model_drawn_from_its_gpu_texture() {
    if !ready() {
        return;
    }
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/models/faces128.safetensors"
    );
    let (log, settings) = paint_a_stroke_inpaint_and_save(
        "model",
        &["--method", "pconv", "--checkpoint", model, "--share-device"],
    );
    assert!(log.contains("results are drawn from GPU textures"), "{log}");
    assert!(settings.contains("faces128.safetensors"), "{settings}");
}

/// With a display but no GPU driver (no Vulkan ICD), the app says what
/// to install and that the command line's classical methods need none.
#[test]
fn without_a_gpu_driver_the_app_says_what_to_do() {
    if !ready() {
        return;
    }
    let _one_display = DISPLAY_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::Scratch::new("app-no-driver");
    let input = dir.join("photo.png");
    photo(&input);
    let (_xvfb, display) = start_xvfb("800x600x24");
    let out = Command::new(env!("CARGO_BIN_EXE_pconv"))
        .arg("app")
        .arg(&input)
        .env("DISPLAY", &display)
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .env("XDG_DATA_HOME", dir.as_ref())
        .env_remove("WAYLAND_DISPLAY")
        .env("VK_ICD_FILENAMES", dir.join("no-driver.json"))
        .env("VK_DRIVER_FILES", dir.join("no-driver.json"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("no GPU adapter found") && err.contains("pconv inpaint --method telea"),
        "{err}"
    );
}

#[test]
fn train_without_headless_opens_the_dashboard_and_trains() {
    if !ready() {
        return;
    }
    let _one_display = DISPLAY_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = common::Scratch::new("dash-e2e");
    std::fs::create_dir_all(dir.join("images")).unwrap();
    for i in 0..4u32 {
        image::RgbImage::from_fn(24, 24, |x, y| {
            image::Rgb([(x * 9 + i * 40) as u8, (y * 11) as u8, ((x + y) * 5) as u8])
        })
        .save(dir.join("images").join(format!("{i}.png")))
        .unwrap();
    }
    let (_xvfb, display) = start_xvfb("1000x800x24");
    let out = dir.join("run");
    let log = dir.join("train.log");
    let images = dir.join("images");
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["train".as_ref(), "--data".as_ref(), images.as_os_str()];
    for a in [
        "--size",
        "16",
        "--levels",
        "2",
        "--width",
        "0.0625",
        "--batch",
        "2",
        "--steps",
        "100000",
        "--sample-every",
        "2",
        "--checkpoint-every",
        "100000",
        "--out",
    ] {
        args.push(a.as_ref());
    }
    args.push(out.as_os_str());
    let (mut train, _window) = start_window(&args, &display, &log, "pconv training");
    wait_for("some steps", Duration::from_secs(300), || {
        std::fs::read_to_string(out.join("metrics.jsonl")).is_ok_and(|m| m.lines().count() >= 3)
    });
    assert!(out.join("samples/step-0000002.png").exists());
    // SIGTERM: the window saves, closes and the process says "interrupted".
    let code = terminate(&mut train, Duration::from_secs(10), &log);
    assert_eq!(
        code,
        Some(130),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    let steps = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let saved = pconv::model::Checkpoint::read(&out.join("latest.safetensors")).unwrap();
    assert_eq!(saved.step as usize, steps.lines().count());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("training headless"), "{text}");

    // An error before the first step shows in the window (its title says
    // so) instead of "starting…" for ever; SIGTERM still ends it.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let args: Vec<&std::ffi::OsStr> = vec![
        "train".as_ref(),
        "--data".as_ref(),
        empty.as_os_str(),
        "--out".as_ref(),
        dir.join("run2").into_os_string().leak(),
    ];
    let (mut train, _window) = start_window(&args, &display, &log, "pconv training: error");
    // Idle: no event reaches the window; the signal alone must end it.
    std::thread::sleep(Duration::from_secs(1));
    let code = terminate(&mut train, Duration::from_secs(10), &log);
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no images found"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sends SIGTERM and waits up to `limit` for the exit code.
fn terminate(child: &mut Guard, limit: Duration, log: &Path) -> Option<i32> {
    let sent = Instant::now();
    Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    loop {
        if let Ok(Some(status)) = child.0.try_wait() {
            return status.code();
        }
        assert!(
            sent.elapsed() < limit,
            "still running {limit:?} after SIGTERM: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
