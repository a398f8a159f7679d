//! The options (`?Send`, `boxed`, `lazy`, `crate = path`), free and inherent functions, other attribute macros.

mod crate_path;
mod free_and_inherent;
mod free_inherent_and_options_more;
mod local_and_boxed;
mod with_attribute_macros;
