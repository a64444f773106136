//! The dashboard's key tables: the list, the list narrowed (a filter, a
//! "who ordered" list, one tenant), and the filter prompt.

use crossterm::event::KeyCode;

use crate::app::keymap::{
    bind, export_key, navigation, reload_key, spare, Action, Binding, Key, KeyTable, Rows, ENTER,
    ESC, HELP_KEY, QUIT, ROWS,
};
use crate::app::state::View;

use Action::*;
use Key::{Char, Code, Ctrl};

pub(super) const NAV: [Binding; 6] = navigation(ROWS);

/// Tab: the other pane, from either.
const SWITCH_PANE: Binding = bind(
    &[Code(KeyCode::Tab), Code(KeyCode::BackTab)],
    SwitchFocus,
    "switch pane",
    false,
);

/// The users list's own: the focus, its row's details and copies.
pub(super) const OWN: &[Binding] = &[
    SWITCH_PANE,
    bind(&[Code(KeyCode::Right)], Right, "orders pane", false),
    bind(ENTER, ShowDetail, "details", true),
    bind(&[Char('y')], CopyId, "copy user id", false),
    bind(&[Char('Y')], CopyRow, "copy user row (TSV)", false),
];

/// The order lines' cursor (the orders pane has the focus).
const NAV_LINES: [Binding; 6] = navigation(Rows {
    up: "previous line",
    down: "next line",
    first: "first line",
    last: "last line",
    hint: false,
});

/// The orders pane's own: the focus, the line under the cursor.
const LINES_OWN: &[Binding] = &[
    SWITCH_PANE,
    bind(&[Code(KeyCode::Left)], Left, "users pane", false),
    bind(ENTER, ShowDetail, "line details", true),
    bind(&[Char('y'), Char('Y')], CopyId, "copy line (TSV)", true),
];

/// Both panes, before their own: the filter, the comparison.
const SHARED_FIRST: &[Binding] = &[
    bind(&[Char('/')], StartFilter, "filter users", true),
    bind(&[Char('c')], NextCompare, "compare next tenant", true),
    spare(bind(
        &[Char('C')],
        PickCompare,
        "pick comparison tenant",
        false,
    )),
];

/// Both panes, after their own: the other views.
const SHARED: &[Binding] = &[
    spare(reload_key("reload", false)),
    bind(&[Char('t')], OpenHealth, "tenant health", false),
    bind(&[Char('p')], OpenPrices, "price matrix", true),
    bind(&[Char('P')], OpenProfiles, "switch profile", false),
    bind(&[Char('b')], OpenBasket, "basket across tenants", true),
    bind(&[Char('T')], OpenTenants, "tenants pane", false),
    spare(export_key(false)),
    HELP_KEY,
];

/// Esc steps back (never quits): out of a "who ordered" list, else drops
/// the filter. In the hint bar only when there is something to step back from.
const END: &[Binding] = &end("back: clear filter or list", false);
/// One tenant's users (from the tenants pane): Esc goes back there.
const END_TENANT: &[Binding] = &end("back to tenants", true);
const END_NARROWED: &[Binding] = &end("clear filter", true);
/// Entered from another view (see `app::nav`): Esc returns there, and
/// the hint says where.
const END_BACK: &[Binding] = &end("back", true);
const END_PRICES: &[Binding] = &end("back to the matrix", true);
const END_HEALTH: &[Binding] = &end("back to health", true);
const END_BASKET: &[Binding] = &end("back to the basket", true);

/// The list's last keys: Esc, saying `back` where it goes (`hint`: in the
/// hint bar), then quit.
const fn end(back: &'static str, hint: bool) -> [Binding; 2] {
    [bind(ESC, Back, back, hint), QUIT]
}

pub const KEYS: KeyTable = &[&NAV, SHARED_FIRST, OWN, SHARED, END];
pub(super) const KEYS_NARROWED: KeyTable = &[&NAV, SHARED_FIRST, OWN, SHARED, END_NARROWED];
pub(super) const KEYS_TENANT: KeyTable = &[&NAV, SHARED_FIRST, OWN, SHARED, END_TENANT];
const KEYS_BACK: KeyTable = &[&NAV, SHARED_FIRST, OWN, SHARED, END_BACK];
const KEYS_TO_PRICES: KeyTable = &[&NAV, SHARED_FIRST, OWN, SHARED, END_PRICES];
const KEYS_TO_HEALTH: KeyTable = &[&NAV, SHARED_FIRST, OWN, SHARED, END_HEALTH];
const KEYS_TO_BASKET: KeyTable = &[&NAV, SHARED_FIRST, OWN, SHARED, END_BASKET];
/// The orders pane's own keys, for the help.
pub const ORDERS_PANE: KeyTable = &[&NAV_LINES, LINES_OWN];
/// The orders pane has the focus: the keys move its cursor.
pub const KEYS_ORDERS: KeyTable = &[&NAV_LINES, SHARED_FIRST, LINES_OWN, SHARED, END];

/// The list's keys when Esc returns to `view`.
pub(super) fn back_to(view: View) -> KeyTable {
    match view {
        View::Tenants => KEYS_TENANT,
        View::Prices => KEYS_TO_PRICES,
        View::Health => KEYS_TO_HEALTH,
        View::Basket => KEYS_TO_BASKET,
        _ => KEYS_BACK,
    }
}

/// In the prompt, unbound keys edit the text (←/→, Home/End, Ctrl-U/W);
/// Esc cancels the edit, putting back the list as it was before `/`.
pub const FILTERING: KeyTable = &[&filtering(true)];

/// [`FILTERING`] before any filter was kept: no history for ↑ to recall,
/// so the hint bar leaves it out (it stays bound, and in the help).
pub const FILTERING_FIRST: KeyTable = &[&filtering(false)];

/// The prompt's keys; `recall`: ↑ is shown in the hint bar.
const fn filtering(recall: bool) -> [Binding; 5] {
    [
        bind(ENTER, KeepFilter, "keep filter", true),
        bind(ESC, Back, "cancel", true),
        bind(&[Code(KeyCode::Up)], OlderEntry, "earlier filter", recall),
        bind(&[Code(KeyCode::Down)], NewerEntry, "later filter", false),
        bind(&[Ctrl('c')], Quit, "quit", true),
    ]
}
