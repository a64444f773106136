//! The dashboard's logic: state, messages, the pure `update`, and the
//! runtime at the edge that turns effects into tokio tasks.
//!
//! Data flows one way: event → `update(state, msg)` → effects → tasks →
//! result messages → `update` → `ui::view(state)`.

pub mod keymap;
pub mod msg;
pub mod runtime;
pub mod state;
pub mod update;
mod views;

pub use msg::{Effect, Msg, OrdersKey, UsersRequest};
pub use state::{Focus, OrdersPane, State};
pub use update::{init, update};
