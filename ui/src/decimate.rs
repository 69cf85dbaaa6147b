//! Per-pixel min/max decimation: a chart never draws more than two points
//! per pixel column, yet every spike a column holds stays on screen.

/// The indices of `points` (sorted by x) in `x_min..=x_max`, found by
/// binary search, with one point either side so a line runs to the edges.
fn visible(points: &[[f64; 2]], x_min: f64, x_max: f64) -> std::ops::Range<usize> {
    let start = points.partition_point(|p| p[0] < x_min).saturating_sub(1);
    let end = (points.partition_point(|p| p[0] <= x_max) + 1).min(points.len());
    start..end
}

/// `points` (sorted by x) reduced to at most two per pixel column of the
/// `x_min..=x_max` range drawn `pixels` wide: each column's minimum and
/// maximum, in time order. One point either side of the range is kept so
/// the line runs to the edges.
pub fn min_max(points: &[[f64; 2]], x_min: f64, x_max: f64, pixels: usize) -> Vec<[f64; 2]> {
    let pixels = pixels.max(1);
    let in_view = &points[visible(points, x_min, x_max)];
    if in_view.len() <= 2 * pixels || x_max <= x_min {
        return in_view.to_vec();
    }
    let width = (x_max - x_min) / pixels as f64;
    let mut out = Vec::with_capacity(2 * pixels + 2);
    let mut column = i64::MIN;
    let (mut lo, mut hi) = ([0.0; 2], [0.0; 2]);
    let flush = |out: &mut Vec<[f64; 2]>, lo: [f64; 2], hi: [f64; 2]| {
        if lo == hi {
            out.push(lo);
        } else if lo[0] <= hi[0] {
            out.extend([lo, hi]);
        } else {
            out.extend([hi, lo]);
        }
    };
    for &p in in_view {
        let c = ((p[0] - x_min) / width).floor() as i64;
        if c != column {
            if column != i64::MIN {
                flush(&mut out, lo, hi);
            }
            column = c;
            lo = p;
            hi = p;
        } else if p[1] < lo[1] {
            lo = p;
        } else if p[1] > hi[1] {
            hi = p;
        }
    }
    if column != i64::MIN {
        flush(&mut out, lo, hi);
    }
    out
}

/// Raw points per bucket of the pyramid's finest level: below that, a view
/// folds the raw points themselves (a few hundred thousand at most).
const BASE: usize = 64;

/// One bucket of consecutive points: where its minimum and its maximum are.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    lo: [f64; 2],
    hi: [f64; 2],
}

impl Bucket {
    fn merge(a: Bucket, b: Bucket) -> Bucket {
        Bucket {
            lo: if b.lo[1] < a.lo[1] { b.lo } else { a.lo },
            hi: if b.hi[1] > a.hi[1] { b.hi } else { a.hi },
        }
    }
}

/// Min/max levels over a long series (64, 128, 256… points a bucket), built
/// once, so a view of any width costs a few buckets a pixel however many
/// points it spans: a chart of a million points is drawn from ~2,000.
#[derive(Debug, Default)]
pub struct MinMaxPyramid {
    levels: Vec<Vec<Bucket>>,
}

impl MinMaxPyramid {
    /// Builds the levels over `points` (sorted by x).
    pub fn new(points: &[[f64; 2]]) -> Self {
        let mut levels = Vec::new();
        let mut level: Vec<Bucket> = points
            .chunks(BASE)
            .map(|c| {
                c.iter().fold(Bucket { lo: c[0], hi: c[0] }, |b, p| {
                    Bucket::merge(b, Bucket { lo: *p, hi: *p })
                })
            })
            .collect();
        while level.len() > 1 {
            let next = level
                .chunks(2)
                .map(|pair| {
                    pair.iter()
                        .copied()
                        .reduce(Bucket::merge)
                        .unwrap_or(pair[0])
                })
                .collect();
            levels.push(std::mem::replace(&mut level, next));
        }
        levels.push(level);
        MinMaxPyramid { levels }
    }

    /// What [`min_max`] gives for the view, from the coarsest level whose
    /// buckets are still finer than half a pixel column.
    pub fn view(
        &self,
        points: &[[f64; 2]],
        x_min: f64,
        x_max: f64,
        pixels: usize,
    ) -> Vec<[f64; 2]> {
        let pixels = pixels.max(1);
        let std::ops::Range { start, end } = visible(points, x_min, x_max);
        let per_pixel = end.saturating_sub(start) / (2 * pixels);
        if per_pixel < 2 * BASE || self.levels.is_empty() {
            return min_max(points, x_min, x_max, pixels);
        }
        // Level k holds buckets of BASE << k points.
        let k = ((per_pixel / BASE).ilog2() as usize).min(self.levels.len() - 1);
        let size = BASE << k;
        let level = &self.levels[k];
        let candidates: Vec<[f64; 2]> = level[start / size..end.div_ceil(size).min(level.len())]
            .iter()
            .flat_map(|b| {
                if b.lo[0] <= b.hi[0] {
                    [b.lo, b.hi]
                } else {
                    [b.hi, b.lo]
                }
            })
            .collect();
        min_max(&candidates, x_min, x_max, pixels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_points_become_two_per_pixel_and_keep_their_spikes() {
        let mut points: Vec<[f64; 2]> = (0..1_000_000).map(|i| [i as f64, 1.0]).collect();
        points[123_456][1] = 99.0;
        points[654_321][1] = -5.0;
        let shown = min_max(&points, 0.0, 999_999.0, 800);
        assert!(shown.len() <= 2 * 801, "{}", shown.len());
        assert!(shown.contains(&[123_456.0, 99.0]));
        assert!(shown.contains(&[654_321.0, -5.0]));
        assert!(shown.windows(2).all(|w| w[0][0] <= w[1][0]), "time order");
    }

    #[test]
    fn only_the_visible_range_is_drawn_and_short_series_stay_whole() {
        let points: Vec<[f64; 2]> = (0..100).map(|i| [i as f64, i as f64]).collect();
        assert_eq!(min_max(&points, 0.0, 99.0, 800), points);
        // Zoomed in: the range and one point either side.
        let zoomed = min_max(&points, 10.0, 20.0, 800);
        assert_eq!(zoomed.first(), Some(&[9.0, 9.0]));
        assert_eq!(zoomed.last(), Some(&[21.0, 21.0]));
    }

    #[test]
    fn the_pyramid_keeps_every_spike_of_a_million_points() {
        let mut points: Vec<[f64; 2]> =
            (0..1_000_000).map(|i| [i as f64, (i % 7) as f64]).collect();
        points[123_456][1] = 99.0;
        points[654_321][1] = -5.0;
        let pyramid = MinMaxPyramid::new(&points);
        let shown = pyramid.view(&points, 0.0, 999_999.0, 300);
        assert!(shown.len() <= 2 * 301, "{}", shown.len());
        assert!(shown.contains(&[123_456.0, 99.0]));
        assert!(shown.contains(&[654_321.0, -5.0]));
        assert!(shown.windows(2).all(|w| w[0][0] <= w[1][0]), "time order");
        // Each pixel column's extremes are the raw fold's.
        let raw = min_max(&points, 0.0, 999_999.0, 300);
        let extremes = |v: &[[f64; 2]]| {
            v.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
                (lo.min(p[1]), hi.max(p[1]))
            })
        };
        assert_eq!(extremes(&shown), extremes(&raw));
        // Zoomed in far enough, the raw points are used.
        let zoomed = pyramid.view(&points, 123_400.0, 123_500.0, 300);
        assert_eq!(zoomed.len(), 103);
    }
}
