//! The dashboard's logic: state, messages, the pure `update`, and the
//! runtime at the edge that turns effects into tokio tasks.
//!
//! Data flows one way: key → `update` → the view's update → effect →
//! task → keyed result message → the view's update → `ui::view(state)`.
//! Each view is one module here (listed once in `views.rs`) owning its
//! state, key table, messages, jobs, status and export, with its drawing
//! in the module of the same name under `ui`.

pub mod basket;
pub mod clipboard;
pub mod connect;
pub mod dashboard;
pub mod detail;
pub mod health;
pub mod input;
pub mod keymap;
pub mod load;
pub mod msg;
pub mod nav;
pub mod picker;
pub mod prices;
pub mod runtime;
pub mod screen;
pub mod state;
pub(crate) mod tasks;
pub mod tenants;
mod terminal;
pub mod update;
mod views;

pub use connect::initial_state;
pub use dashboard::UsersRequest;
pub use dashboard::{Focus, OrdersKey};
pub use msg::{Effect, Msg};
pub use state::{Data, Exporting, Session, State, View};
pub use update::{init, update};
