//! Lifetimes, references, generics, defaults and associated items, edge shapes.

mod defaults_and_associated_items;
mod edge_shapes;
mod references_and_generics;
