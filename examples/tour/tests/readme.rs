//! The README's tour is this crate's `src/lib.rs`, quoted verbatim: this
//! test fails as soon as one of them changes without the other.

const README: &str = include_str!("../../../README.md");
const TOUR: &str = include_str!("../src/lib.rs");

#[test]
fn the_readme_quotes_the_tour_verbatim() {
    let (_, after_begin) = README.split_once("<!-- tour:begin").expect("README.md lacks <!-- tour:begin");
    let (block, _) = after_begin.split_once("<!-- tour:end -->").expect("README.md lacks <!-- tour:end -->");
    let (_, code) = block.split_once("```rust\n").expect("no ```rust block between the tour markers");
    let (quoted, _) = code.rsplit_once("```").expect("unterminated ```rust block");
    assert!(
        quoted == TOUR,
        "README.md's tour differs from examples/tour/src/lib.rs: paste the file between the markers"
    );
}
