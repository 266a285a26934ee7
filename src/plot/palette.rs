//! The colours of the figures. Series (lines, bars, points) and action markers draw from two
//! disjoint sets, so that a vertical line of an action can never be read as a series.

use plotters::style::RGBColor;

/// Series colours: six of Tableau 10 (colour-blind safe, distinct in print). Series beyond the
/// sixth reuse them dashed (see [`series_dashed`]).
pub const SERIES: [RGBColor; 6] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(255, 127, 14),  // orange
    RGBColor(44, 160, 44),   // green
    RGBColor(214, 39, 40),   // red
    RGBColor(148, 103, 189), // purple
    RGBColor(140, 86, 75),   // brown
];

/// The colour of the `i`-th series of a figure.
pub fn series(i: usize) -> RGBColor {
    SERIES[i % SERIES.len()]
}

/// Whether the `i`-th series is dashed: the second round of the colours.
pub fn series_dashed(i: usize) -> bool {
    (i / SERIES.len()) % 2 == 1
}

/// Reference lines (an SLA target, the zero of differences): black, dashed when a line.
pub const REFERENCE: RGBColor = RGBColor(0, 0, 0);

/// Action markers, one colour per kind, none of them a series or reference colour: the other
/// four of Tableau 10 and two greys.
pub const MARKERS: [(&str, RGBColor); 6] = [
    ("migrate", RGBColor(227, 119, 194)),      // pink
    ("start-replica", RGBColor(188, 189, 34)), // olive
    ("stop-replica", RGBColor(23, 190, 207)),  // cyan
    ("power-on", RGBColor(127, 127, 127)),     // grey
    ("power-off", RGBColor(190, 190, 190)),    // light grey
    ("", RGBColor(90, 60, 140)),               // any other kind: dark violet
];

/// The colour of an action kind's markers, the same in every figure.
pub fn marker(kind: &str) -> RGBColor {
    MARKERS
        .iter()
        .find(|(k, _)| *k == kind)
        .unwrap_or(&MARKERS[MARKERS.len() - 1])
        .1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_colours_are_no_series_or_reference_colour() {
        for (kind, m) in MARKERS {
            assert!(!SERIES.contains(&m), "{kind}");
            assert_ne!(m, REFERENCE, "{kind}");
        }
        for (i, (_, a)) in MARKERS.iter().enumerate() {
            for (_, b) in &MARKERS[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(marker("migrate"), RGBColor(227, 119, 194));
        assert_eq!(marker("something-new"), MARKERS[5].1);
    }

    #[test]
    fn series_beyond_the_palette_are_dashed() {
        assert_eq!(series(0), series(6));
        assert!(!series_dashed(5) && series_dashed(6) && !series_dashed(12));
    }
}
