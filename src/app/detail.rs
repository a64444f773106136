//! The detail popup (Enter on the dashboard): every value of the selected
//! user, or of an order line, whole; `y` copies the value under the cursor.
//! Copying from the list (`y` the id, `Y` the row as TSV) is here too.

use crossterm::event::KeyCode;

use super::keymap::{bind, Action, Key, KeyTable, QUIT};
use super::msg::Effect;
use super::state::State;
use crate::db::{OrderLine, SchemaState};
use crate::money::{Problem, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub title: String,
    /// (label, value): values whole and raw (sanitized when drawn).
    pub fields: Vec<(String, String)>,
    /// The field `y` copies.
    pub cursor: usize,
}

use Action::*;
use Key::{Char, Code};

pub const KEYS: KeyTable = &[&[
    bind(&[Code(KeyCode::Up), Char('k')], Up, "previous value", false),
    bind(&[Code(KeyCode::Down), Char('j')], Down, "next value", true),
    bind(&[Char('y')], CopyValue, "copy value", true),
    bind(
        &[Code(KeyCode::Esc), Code(KeyCode::Enter)],
        Back,
        "close",
        true,
    ),
    QUIT,
]];

/// Enter on the users pane: the selected user's row, never the password.
pub fn open_user(state: &mut State) -> Vec<Effect> {
    let Some(user) = state.selected_user() else {
        state.notice = Some(Err(no_user(state, "show")));
        return Vec::new();
    };
    let status = match state.tenant_status(user) {
        Some(SchemaState::Ok) => "schema present",
        Some(SchemaState::NoTenant) => "no tenant",
        Some(state) => state.word(),
        None => "schema not checked yet",
    };
    // The schema by name, always, and whether it is there.
    let schema = match user.tenant.as_deref() {
        Some(schema) if !schema.is_empty() => format!("{schema} ({status})"),
        _ => status.to_string(),
    };
    let mut fields = vec![
        ("Id", user.id.clone()),
        ("Name", user.name.clone()),
        ("Mail", user.mail.clone().unwrap_or_default()),
        (
            "Tenant",
            user.tenant_label().unwrap_or_default().to_string(),
        ),
        ("Tenant schema", schema),
        ("Created", user.created.clone().unwrap_or_default()),
    ];
    // No mail column in the users table: no Mail to show (not "(empty)").
    if state.tenants.no_mail_column {
        fields.retain(|(name, _)| *name != "Mail");
    }
    show(state, format!("User {}", user.id), fields)
}

/// Enter on the orders pane: the line under the cursor, with both
/// tenants' prices and the comparison tenant's item it was matched to.
pub fn open_line(state: &mut State) -> Vec<Effect> {
    let dashboard = &state.dashboard;
    let Some(report) = dashboard.orders.value() else {
        return Vec::new();
    };
    let Some(line) = dashboard.lines.selected().map(|l| &l.line) else {
        return Vec::new();
    };
    let own = report.tenant.clone();
    let other = report.compare_tenant.clone().unwrap_or_else(|| "—".into());
    let mut fields = line_fields(line, &own, &other);
    if report.compare_tenant.is_some() {
        let matched = their_item(line);
        let rule = match (&report.item_rule, &report.compare_error) {
            (Some(choice), _) => format!("{}: {}", choice.rule.name(), choice.why),
            (None, Some(why)) => format!("no comparison: {why}"),
            (None, None) => "—".to_string(),
        };
        let at = fields.len() - 3;
        fields.insert(at, ("Their item", matched));
        fields.insert(at + 1, ("Matched by", rule));
    }
    let title = format!("Order line {}", line.own_item());
    show(state, title, fields)
}

/// Which of their items was taken for this one: `Widget (id 7)`, or none
/// where the key names several there at different prices.
fn their_item(line: &OrderLine) -> String {
    let item = line.compare_item.as_deref().unwrap_or("(no description)");
    match (&line.compare_item_id, &line.compare_unit_price) {
        _ if !line.compare_matched => "— (not sold there)".to_string(),
        (_, Value::Invalid(Problem::AmbiguousMatch)) => {
            "none: items at different prices match it".to_string()
        }
        (id, _) => format!("{item} (id {})", id.as_deref().unwrap_or("?")),
    }
}

fn line_fields(line: &OrderLine, own: &str, other: &str) -> Vec<(&'static str, String)> {
    // The exact digits (what a copy should carry), else the pane's cell:
    // `—`, `NULL` (an item sold at a NULL price) or the problem.
    let [quantity, price, total, their_price, their_total, difference] =
        crate::output::number_cells(line);
    let text = |value: &Value, cell: String| value.plain().unwrap_or(cell);
    vec![
        ("Item id", line.item_id.clone().unwrap_or_default()),
        // A missing item as the title and the pane say it (it read "(empty)").
        ("Item", line.own_item()),
        ("Quantity", text(&line.quantity, quantity)),
        ("Own tenant", own.to_string()),
        ("Unit price", text(&line.unit_price, price)),
        ("Total", text(&line.total, total)),
        ("Compared with", other.to_string()),
        (
            "Their unit price",
            text(&line.compare_unit_price, their_price),
        ),
        ("Their total", text(&line.compare_total, their_total)),
        ("Difference", text(&line.difference(), difference)),
    ]
}

fn show(state: &mut State, title: String, fields: Vec<(&'static str, String)>) -> Vec<Effect> {
    let fields = fields
        .into_iter()
        .map(|(label, value)| (label.to_string(), value))
        .collect();
    state.dashboard.detail = Some(Detail {
        title,
        fields,
        cursor: 0,
    });
    Vec::new()
}

pub fn on_action(state: &mut State, action: Action) -> Vec<Effect> {
    let Some(detail) = state.dashboard.detail.as_mut() else {
        return Vec::new();
    };
    let last = detail.fields.len().saturating_sub(1);
    match action {
        Up => detail.cursor = detail.cursor.saturating_sub(1),
        Down => detail.cursor = (detail.cursor + 1).min(last),
        CopyValue => {
            if let Some((label, value)) = detail.fields.get(detail.cursor) {
                return vec![copy(label.to_lowercase(), escaped(value))];
            }
        }
        Back => {
            state.dashboard.detail = None;
            return super::nav::mend(state);
        }
        _ => {}
    }
    Vec::new()
}

/// Why there is no user to `act` on: the list is still loading (a list
/// that replaced another shows none of the old one's users meanwhile), or
/// it is empty.
fn no_user(state: &State, act: &str) -> String {
    if state.dashboard.users.is_loading() {
        format!("still loading: no user to {act} yet")
    } else {
        "no user selected".to_string()
    }
}

/// `y` on the list: the selected user's id; `Y`: the whole row as TSV.
pub fn copy_user(state: &mut State, whole_row: bool) -> Vec<Effect> {
    let Some(user) = state.selected_user() else {
        state.notice = Some(Err(no_user(state, "copy")));
        return Vec::new();
    };
    if !whole_row {
        return vec![copy(format!("id {}", user.id), escaped(&user.id))];
    }
    let cells = [
        user.id.as_str(),
        &user.name,
        user.mail.as_deref().unwrap_or(""),
        user.tenant_label().unwrap_or(""),
        user.created.as_deref().unwrap_or(""),
    ];
    // TSV: a tab or line break inside a value would shift the columns (and
    // any control character could act when pasted): escaped, as on screen.
    let row: Vec<String> = cells.iter().map(|c| escaped(c)).collect();
    vec![copy(format!("the row of {}", user.name), row.join("\t"))]
}

/// `y` on the orders pane: the line under the cursor as TSV (item id,
/// item, quantity, the money columns, their item's id and name), exact
/// digits.
pub fn copy_line(state: &mut State) -> Vec<Effect> {
    let Some(line) = state.dashboard.lines.selected().map(|l| &l.line) else {
        state.notice = Some(Err("no order line selected".into()));
        return Vec::new();
    };
    let text = |value: &Value| value.plain().unwrap_or_else(|| value.cell());
    let mut cells = vec![
        line.item_id.clone().unwrap_or_default(),
        line.item.clone().unwrap_or_default(),
        text(&line.quantity),
    ];
    cells.extend(line.money_columns().iter().map(text));
    cells.push(line.compare_item_id.clone().unwrap_or_default());
    cells.push(line.compare_item.clone().unwrap_or_default());
    let row: Vec<String> = cells.iter().map(|c| escaped(c)).collect();
    let item = line
        .item
        .as_deref()
        .or(line.item_id.as_deref())
        .unwrap_or("?");
    vec![copy(format!("the line of {item}"), row.join("\t"))]
}

use super::clipboard::escaped;

fn copy(what: String, text: String) -> Effect {
    Effect::Copy { what, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line whose item is gone names it by its id in its fields, as the
    /// title and the orders pane do (the field read "(empty)").
    #[test]
    fn a_missing_item_is_named_by_its_id() {
        let line = OrderLine::from_raw(crate::db::RawOrderLine {
            item_id: Some("42".into()),
            quantity: Some("1".into()),
            ..Default::default()
        });
        let fields = line_fields(&line, "client1", "client2");
        let item = fields.iter().find(|(label, _)| *label == "Item");
        assert_eq!(item.map(|(_, v)| v.as_str()), Some("(missing item 42)"));
    }

    /// An item sold at a NULL price reads `NULL` there, as in the pane (it
    /// read `—`, which the pane's marks give to an item not sold); an exact
    /// price its digits.
    #[test]
    fn a_null_price_reads_null_as_in_the_pane() {
        let line = OrderLine::from_raw(crate::db::RawOrderLine {
            item_id: Some("7".into()),
            item: Some("Widget".into()),
            quantity: Some("2".into()),
            compare_unit_price: Some("1234.500".into()),
            compare_matched: true,
            ..Default::default()
        });
        let fields = line_fields(&line, "client1", "client2");
        let field = |name: &str| {
            let found = fields.iter().find(|(label, _)| *label == name);
            found.map(|(_, v)| v.as_str())
        };
        assert_eq!(field("Unit price"), Some("NULL"));
        assert_eq!(field("Their unit price"), Some("1234.500"));
        assert_eq!(field("Total"), Some("—"));
    }

    /// Several items of the line's key at different prices there: their
    /// item is none of them (it read "Pen (id ?)").
    #[test]
    fn their_item_is_none_of_several_at_different_prices() {
        let line = |ambiguous: Option<bool>, id: Option<&str>| {
            OrderLine::from_raw(crate::db::RawOrderLine {
                item: Some("Pen".into()),
                compare_item: id.map(|_| "Pen".to_string()),
                compare_item_id: id.map(str::to_string),
                compare_unit_price: id.map(|_| "3.00".to_string()),
                compare_matched: true,
                compare_ambiguous: ambiguous,
                ..Default::default()
            })
        };
        assert_eq!(
            their_item(&line(Some(true), None)),
            "none: items at different prices match it"
        );
        assert_eq!(their_item(&line(Some(false), Some("9"))), "Pen (id 9)");
    }
}
