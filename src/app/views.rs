//! The list of views, once. Each line of the `views!` table below names a
//! view's `View` variant and its module, and makes everything the app
//! dispatches by view:
//!
//! - the `View` variant, and its arm in [`View::screen`] (the module's `SCREEN`);
//! - a [`ViewMsg`] variant carrying `<module>::Msg`, routed to
//!   `<module>::on_msg` (with the result's [`ReadTime`]: the view records
//!   it where it takes a successful result), and `From<module::Msg> for Msg`;
//! - a [`Job`] variant carrying `<module>::Job`, run by
//!   `<module>::Job::run(db, handle)`, whose result comes back as that
//!   view's message.
//!
//! Each view module therefore provides `SCREEN`, `Msg`, `Job` (an empty
//! enum for a view that loads nothing) with
//! `async fn run(self, Database, QueryHandle) -> Msg`, and
//! `fn on_msg(&mut State, Msg, ReadTime) -> Vec<Effect>`. The matches are generated
//! and exhaustive: a module missing one of these does not compile.

use super::msg::{Effect, Msg, ReadTime};
use super::screen::Screen;
use super::state::State;
use crate::db::{Database, QueryHandle};

macro_rules! views {
    ($($(#[$doc:meta])* $view:ident => $module:ident,)*) => {
        /// Which screen is showing.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum View {
            $($(#[$doc])* $view,)*
        }

        impl View {
            /// Every view, in the table's order.
            pub const ALL: &'static [View] = &[$(View::$view,)*];

            /// What the view provides: keys, status, export, help.
            pub fn screen(self) -> &'static Screen {
                match self {
                    $(View::$view => &super::$module::SCREEN,)*
                }
            }
        }

        /// A view's message: the result of one of its jobs (or, for
        /// `Connect`, of a connection).
        // Moved once, like `Msg` (which holds it): boxing would buy nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone)]
        pub enum ViewMsg {
            $($view(super::$module::Msg),)*
        }

        impl ViewMsg {
            /// The view that sent the message takes it; `read` is when a
            /// load read it, recorded if the view takes a success.
            pub fn update(self, state: &mut State, read: ReadTime) -> Vec<Effect> {
                match self {
                    $(ViewMsg::$view(msg) => super::$module::on_msg(state, msg, read),)*
                }
            }
        }

        $(impl From<super::$module::Msg> for Msg {
            fn from(msg: super::$module::Msg) -> Msg {
                Msg::View(ViewMsg::$view(msg))
            }
        })*

        /// What a load reads, by view. Each view runs its own jobs.
        // One job is made per key press and moved once: boxing would buy nothing.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq)]
        pub enum Job {
            $($view(super::$module::Job),)*
        }

        impl Job {
            /// Runs the job; its view's message carries the result.
            pub async fn run(self, db: Database, handle: QueryHandle) -> ViewMsg {
                match self {
                    $(Job::$view(job) => ViewMsg::$view(job.run(db, handle).await),)*
                }
            }
        }
    };
}

// The one list of views. A new view: its module here, its state field in
// `Data` (app/state.rs), and its drawing in `ui` (see docs/architecture.md).
views! {
    /// The users list and the selected user's orders; where the app opens.
    #[default]
    Dashboard => dashboard,
    Health => health,
    Prices => prices,
    /// Connecting, a failed connection, or the profile picker.
    Connect => connect,
    Basket => basket,
    /// The tenants pane and the search across tenants.
    Tenants => tenants,
}
