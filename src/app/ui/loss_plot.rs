//! The loss curves of training and of "fit this image" (egui_plot): one
//! line per loss term on a log scale (log10 of each value is plotted; the
//! axis and the hover label say the value itself), a legend whose entries
//! hide a term on click, zoom and pan, double-click to reset.
use eframe::egui::{self, Color32};
use egui_plot::{Corner, HoverPosition, Legend, Line, Plot, PlotPoints};

use crate::loss::LossTerms;

const COLORS: [Color32; 7] = [
    Color32::from_rgb(120, 180, 255),
    Color32::from_rgb(255, 140, 90),
    Color32::from_rgb(140, 220, 120),
    Color32::from_rgb(230, 120, 230),
    Color32::from_rgb(200, 200, 90),
    Color32::from_rgb(120, 220, 220),
    Color32::WHITE,
];

/// Losses at or below this are drawn at it (log10 of 0 is -inf).
const FLOOR: f32 = 1e-6;

/// `history`: (step, loss terms) per step.
pub fn show(ui: &mut egui::Ui, id: &str, history: &[(u64, LossTerms<f32>)], height: f32) {
    if history.len() < 2 {
        ui.add_sized(
            [ui.available_width(), height],
            egui::Label::new("loss curves appear after the first steps"),
        );
        return;
    }
    Plot::new(id)
        .height(height)
        .legend(
            Legend::default()
                .position(Corner::RightTop)
                .text_style(egui::TextStyle::Small)
                .follow_insertion_order(true),
        )
        .x_axis_label("step")
        .y_axis_formatter(|mark, _| value_label(mark.value))
        .label_formatter(|pos| {
            Some(match pos {
                HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => format!(
                    "{plot_name} {} at step {:.0}",
                    value_label(position.y),
                    position.x
                ),
                HoverPosition::Elsewhere { position } => format!("step {:.0}", position.x),
            })
        })
        .show(ui, |plot| {
            for (term, name) in crate::loss::TERM_NAMES.iter().enumerate() {
                let points: PlotPoints = history
                    .iter()
                    .map(|(step, l)| {
                        let v = l.to_array()[term];
                        [*step as f64, f64::from(v.max(FLOOR)).log10()]
                    })
                    .collect();
                plot.line(Line::new(*name, points).color(COLORS[term]).width(1.5));
            }
        });
}

/// The loss whose log10 is `log10`, in two significant digits: 0.25, 3.1,
/// 4.2e-3.
pub fn value_label(log10: f64) -> String {
    let v = 10f64.powf(log10);
    if (0.01..1000.0).contains(&v) {
        let decimals = (1.0 - v.log10().floor()).max(0.0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.1e}")
    }
}

#[cfg(test)]
mod tests {
    use super::value_label;

    #[test]
    fn axis_values_are_the_losses_not_their_logs() {
        assert_eq!(value_label(0.0), "1.0");
        assert_eq!(value_label(-1.0), "0.10");
        assert_eq!(value_label(0.25f64.log10()), "0.25");
        assert_eq!(value_label(2.0), "100");
        assert_eq!(value_label(-3.0), "1.0e-3");
        assert_eq!(value_label(0.0042f64.log10()), "4.2e-3");
    }
}
