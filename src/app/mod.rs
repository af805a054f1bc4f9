//! The desktop app: mask editing with undo/redo, the view transform, the
//! document, the inpainting worker and the "fit this image" thread (all
//! testable without a window), and the egui shell in `ui`.
pub mod document;
pub mod fitting;
pub mod folder;
pub mod mask_edit;
pub mod settings;
pub mod ui;
pub mod view;
pub mod worker;
