//! The sweep's result: a table of action × attack → expected, got, verdict.

use std::fmt;

use super::Attack;
use crate::Code;

/// What the app answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Got {
    /// The HTTP status.
    pub status: u16,
    /// The problem document's `code`, if the body was one.
    pub code: Option<String>,
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} {code}", self.status),
            None => write!(f, "{}", self.status),
        }
    }
}

/// How one row came out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The exact status and code, a deny record with that code, and no
    /// allow record for the request.
    Held,
    /// Something differed; each string says what.
    Failed(Vec<String>),
    /// The attack does not apply to this action (a safe method has no
    /// CSRF check); the string says why.
    NotApplicable(String),
    /// The attack applies, but the fixtures have no principal or credential
    /// to run it with; the string says what to add.
    Uncovered(String),
    /// Skipped by the fixture, for the reason given there.
    Skipped(String),
    /// A `public` action, with its declared reason: nothing to refuse.
    Public(String),
}

impl Verdict {
    /// `held`, `FAILED`, `n/a`, `uncovered`, `skipped` or `public`.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::Failed(_) => "FAILED",
            Verdict::NotApplicable(_) => "n/a",
            Verdict::Uncovered(_) => "uncovered",
            Verdict::Skipped(_) => "skipped",
            Verdict::Public(_) => "public",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Held => f.write_str("held"),
            Verdict::Failed(why) => write!(f, "FAILED: {}", why.join("; ")),
            Verdict::NotApplicable(why) => write!(f, "n/a: {why}"),
            Verdict::Uncovered(why) => write!(f, "uncovered: {why}"),
            Verdict::Skipped(why) => write!(f, "skipped: {why}"),
            Verdict::Public(why) => write!(f, "public: {why}"),
        }
    }
}

/// One action × attack.
#[derive(Clone, Debug)]
pub struct Row {
    /// The action's name.
    pub action: String,
    /// `METHOD /path`, as mounted.
    pub route: String,
    /// The attack.
    pub attack: Attack,
    /// Who attacked (`alice (user, session)`), or `-`.
    pub caller: String,
    /// The refusal the manifest calls for, if the attack ran.
    pub expected: Option<Code>,
    /// What the app answered, if the attack ran.
    pub got: Option<Got>,
    /// The outcome.
    pub verdict: Verdict,
}

impl Row {
    fn expected_text(&self) -> String {
        self.expected.map_or_else(|| "-".to_owned(), |code| format!("{} {code}", code.status().as_u16()))
    }

    fn got_text(&self) -> String {
        self.got.as_ref().map_or_else(|| "-".to_owned(), Got::to_string)
    }

    fn cells(&self) -> [String; 6] {
        [
            self.action.clone(),
            self.attack.name(),
            self.caller.clone(),
            self.expected_text(),
            self.got_text(),
            self.verdict.to_string(),
        ]
    }
}

const HEADERS: [&str; 6] = ["action", "attack", "caller", "expected", "got", "result"];

/// Counts of rows by verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Rows that held.
    pub held: usize,
    /// Rows that failed.
    pub failed: usize,
    /// Attacks that do not apply.
    pub not_applicable: usize,
    /// Attacks the fixtures could not run.
    pub uncovered: usize,
    /// Attacks the fixtures skipped.
    pub skipped: usize,
    /// Public actions.
    pub public: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} held, {} failed, {} n/a, {} uncovered, {} skipped, {} public",
            self.held, self.failed, self.not_applicable, self.uncovered, self.skipped, self.public
        )
    }
}

/// The sweep's table. `Display` prints a summary, the failed rows, then
/// every row; [`SweepReport::to_markdown`] writes the same as Markdown.
#[derive(Clone, Debug, Default)]
pub struct SweepReport {
    pub(crate) rows: Vec<Row>,
    pub(crate) problems: Vec<String>,
}

impl SweepReport {
    /// Every row, in the order the sweep ran them (manifest order, then
    /// [`Attack::ALL`] order; the unguarded routes last).
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The rows of routes outside guard ([`Attack::UnguardedRoute`]): each
    /// names a route the router serves that is neither a mounted action
    /// nor declared public. Every one is also a failed row.
    pub fn unguarded_routes(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|row| row.attack == Attack::UnguardedRoute)
    }

    /// The rows that failed.
    pub fn failed(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|row| matches!(row.verdict, Verdict::Failed(_)))
    }

    /// The rows of one action.
    pub fn action<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Row> {
        self.rows.iter().filter(move |row| row.action == name)
    }

    /// Problems of the sweep as a whole (no audit source, unreadable log):
    /// each also fails the report.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Counts of rows by verdict.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for row in &self.rows {
            match row.verdict {
                Verdict::Held => summary.held += 1,
                Verdict::Failed(_) => summary.failed += 1,
                Verdict::NotApplicable(_) => summary.not_applicable += 1,
                Verdict::Uncovered(_) => summary.uncovered += 1,
                Verdict::Skipped(_) => summary.skipped += 1,
                Verdict::Public(_) => summary.public += 1,
            }
        }
        summary
    }

    /// Whether no row failed and the sweep had no problem.
    pub fn all_held(&self) -> bool {
        self.problems.is_empty() && self.failed().next().is_none()
    }

    /// Panics with the table when a row failed (or the sweep had a problem).
    ///
    /// # Panics
    ///
    /// When [`SweepReport::all_held`] is false.
    #[track_caller]
    pub fn assert_all_held(&self) {
        if !self.all_held() {
            panic!("authorization sweep failed\n{self}");
        }
    }

    /// Like [`SweepReport::assert_all_held`], and also panics when an
    /// attack that applies could not run for lack of a fixture.
    ///
    /// # Panics
    ///
    /// When a row failed or is uncovered.
    #[track_caller]
    pub fn assert_fully_covered(&self) {
        self.assert_all_held();
        if self.summary().uncovered > 0 {
            panic!("authorization sweep left attacks uncovered: add the fixtures they name\n{self}");
        }
    }

    /// The report as Markdown: a summary and one table of every row.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("# Authorization sweep\n\n");
        out.push_str(&format!("{}\n\n", self.summary()));
        for problem in &self.problems {
            out.push_str(&format!("- **problem:** {}\n", escape(problem)));
        }
        if !self.problems.is_empty() {
            out.push('\n');
        }
        out.push_str(&format!("| route | {} |\n", HEADERS.join(" | ")));
        out.push_str(&format!("|{}\n", "---|".repeat(HEADERS.len() + 1)));
        for row in &self.rows {
            let mut cells = row.cells();
            if matches!(row.verdict, Verdict::Failed(_)) {
                cells[5] = format!("**{}**", cells[5]);
            }
            let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
            out.push_str(&format!("| `{}` | {} |\n", row.route, cells.join(" | ")));
        }
        out
    }
}

fn escape(cell: &str) -> String {
    cell.replace('|', "\\|").replace('\n', " ")
}

fn table(f: &mut fmt::Formatter<'_>, rows: &[&Row]) -> fmt::Result {
    let cells: Vec<[String; 6]> = rows.iter().map(|row| row.cells()).collect();
    let mut widths = HEADERS.map(str::len);
    for row in &cells {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    widths[5] = 0; // the last column is not padded
    let line = |f: &mut fmt::Formatter<'_>, row: &[&str]| -> fmt::Result {
        let mut text = String::from(" ");
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                text.push_str(" | ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', widths[i].saturating_sub(cell.chars().count())));
        }
        writeln!(f, "{}", text.trim_end())
    };
    line(f, &HEADERS)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat((*w).max(6))).collect();
    line(f, &rule.iter().map(String::as_str).collect::<Vec<_>>())?;
    for row in &cells {
        line(f, &row.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(())
}

impl fmt::Display for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "authorization sweep: {}", self.summary())?;
        for problem in &self.problems {
            writeln!(f, "problem: {problem}")?;
        }
        let failed: Vec<&Row> = self.failed().collect();
        if !failed.is_empty() {
            writeln!(f, "\nfailed rows:")?;
            table(f, &failed)?;
        }
        writeln!(f, "\nall rows:")?;
        table(f, &self.rows.iter().collect::<Vec<_>>())
    }
}
