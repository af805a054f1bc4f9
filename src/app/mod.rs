//! The desktop app's logic that needs no window: mask editing with
//! undo/redo and the view transform. The egui shell builds on these.
pub mod mask_edit;
pub mod view;
