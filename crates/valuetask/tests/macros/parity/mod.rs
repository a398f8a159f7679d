//! Parity with `#[async_trait]`: shapes that compile and behave the same under both attributes.

mod async_trait_parity;
mod async_trait_regressions;
mod more_async_trait_shapes;
mod side_by_side;
