//! The last message (saved, opened, an error), then adapter, image size,
//! hole ratio, method, last inference time, state; wrapped onto a second
//! line in a narrow window rather than cut off.
use super::PConvApp;
use eframe::egui;

pub fn show(app: &PConvApp, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        if let Some(m) = &app.message {
            let error = m.starts_with("error") || m.contains("failed");
            let text = egui::RichText::new(m).strong();
            ui.label(if error {
                text.color(ui.visuals().error_fg_color)
            } else {
                text
            });
            ui.separator();
        }
        let s = &app.gpu.summary;
        ui.label(format!("{} ({})", s.name, s.backend));
        ui.separator();
        let (w, h) = app.doc.size();
        ui.label(format!("{w}x{h}"));
        ui.separator();
        ui.label(format!(
            "holes {:.1} %",
            100.0 * app.doc.editor.mask().ratio()
        ));
        ui.separator();
        let method = match &app.method {
            super::MethodChoice::Model(p) => format!(
                "model {}",
                p.file_name()
                    .map(|f| f.to_string_lossy())
                    .unwrap_or_default()
            ),
            super::MethodChoice::Classical(m) => m.label().into(),
            super::MethodChoice::Fit => match &app.fit {
                Some(f) if f.session.paused() => {
                    format!("fitting paused at step {}", f.history.len())
                }
                Some(f) => format!("fitting this image, step {}", f.history.len()),
                None => "fit this image".into(),
            },
        };
        ui.label(method);
        if let Some(t) = app.last_seconds {
            ui.separator();
            ui.label(format!("last inpainting {:.0} ms", t * 1e3));
        }
        ui.separator();
        ui.label(if app.canvas.draws_device_textures() {
            "GPU textures"
        } else {
            "own device"
        })
        .on_hover_text(
            "On the window's device, the network's composite is written into a texture \
             that is drawn as is; on its own device (the default on a software adapter, \
             so inpainting never stalls the window) it comes back as an image.",
        );
        if app.inpainter.busy() {
            ui.separator();
            ui.spinner();
            ui.label("inpainting…");
        }
    });
}
