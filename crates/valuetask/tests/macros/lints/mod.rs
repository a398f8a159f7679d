//! The expansion is lint-clean: the hand-written shapes and the generated matrix.

mod forbidden;
mod lint_clean;
mod lint_matrix;
mod lint_matrix_source;
