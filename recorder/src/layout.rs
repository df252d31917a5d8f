//! Where each tile goes in the courtroom view. Pure arithmetic, no GStreamer.
//!
//! With two or more people the first tile (the presiding judge, see `RoomState::in_view`) takes
//! the main area on the left (two thirds of the width) and the others share a grid on the right.
//! When an exhibit is shown it takes the main area and everyone moves to the grid, judge first.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub w: i32,
    pub h: i32,
}

#[cfg(test)]
impl Rect {
    fn area(&self) -> i64 {
        i64::from(self.w) * i64::from(self.h)
    }
    fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x
            && o.y >= self.y
            && o.x + o.w <= self.x + self.w
            && o.y + o.h <= self.y + self.h
    }
    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// One rectangle per tile, in view order.
    pub tiles: Vec<Rect>,
    pub exhibit: Option<Rect>,
}

fn even(v: i32) -> i32 {
    v & !1
}

/// The largest 16:9 rectangle centred in `area`.
fn fit(area: Rect) -> Rect {
    let w = area.w.min(area.h * 16 / 9);
    let h = w * 9 / 16;
    Rect {
        x: even(area.x + (area.w - w) / 2),
        y: even(area.y + (area.h - h) / 2),
        w: even(w),
        h: even(h),
    }
}

/// `n` tiles in a grid filling `area`, with the column count that gives the largest tiles.
fn grid(n: usize, area: Rect) -> Vec<Rect> {
    if n == 0 {
        return Vec::new();
    }
    let n32 = n as i32;
    let best = (1..=n32)
        .map(|cols| {
            let rows = (n32 + cols - 1) / cols;
            let cell = fit(Rect {
                x: 0,
                y: 0,
                w: area.w / cols,
                h: area.h / rows,
            });
            (cell.w, cols, rows)
        })
        .max_by_key(|(w, cols, _)| (*w, -cols))
        .expect("n > 0");
    let (_, cols, rows) = best;
    let (cw, ch) = (area.w / cols, area.h / rows);
    (0..n32)
        .map(|i| {
            fit(Rect {
                x: area.x + (i % cols) * cw,
                y: area.y + (i / cols) * ch,
                w: cw,
                h: ch,
            })
        })
        .collect()
}

/// The layout of `n` tiles (judge first) and an optional exhibit in a `width`×`height` frame.
pub fn layout(n: usize, exhibit: bool, width: i32, height: i32) -> Layout {
    let full = Rect {
        x: 0,
        y: 0,
        w: width,
        h: height,
    };
    let main_w = even(width * 2 / 3);
    let main = Rect { w: main_w, ..full };
    let side = Rect {
        x: main_w,
        y: 0,
        w: width - main_w,
        h: height,
    };
    match (n, exhibit) {
        (0, false) => Layout {
            tiles: vec![],
            exhibit: None,
        },
        (1, false) => Layout {
            tiles: vec![fit(full)],
            exhibit: None,
        },
        (0, true) => Layout {
            tiles: vec![],
            exhibit: Some(fit(full)),
        },
        (n, true) => Layout {
            tiles: grid(n, side),
            exhibit: Some(fit(main)),
        },
        (n, false) => {
            let mut tiles = vec![fit(main)];
            tiles.extend(grid(n - 1, side));
            Layout {
                tiles,
                exhibit: None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_person_fills_the_frame() {
        let l = layout(1, false, 1280, 720);
        assert_eq!(
            l.tiles,
            vec![Rect {
                x: 0,
                y: 0,
                w: 1280,
                h: 720
            }]
        );
    }

    #[test]
    fn judge_tile_is_larger_than_the_others() {
        let l = layout(5, false, 1280, 720);
        assert_eq!(l.tiles.len(), 5);
        assert!(l.tiles[1..]
            .iter()
            .all(|t| t.area() * 2 < l.tiles[0].area()));
    }

    #[test]
    fn exhibit_takes_the_main_area() {
        let l = layout(3, true, 1280, 720);
        let e = l.exhibit.unwrap();
        assert!(l
            .tiles
            .iter()
            .all(|t| t.area() < e.area() && !t.overlaps(&e)));
    }

    proptest! {
        #[test]
        fn tiles_fit_do_not_overlap_and_are_even(n in 0usize..=12, exhibit: bool) {
            let full = Rect { x: 0, y: 0, w: 1280, h: 720 };
            let l = layout(n, exhibit, 1280, 720);
            prop_assert_eq!(l.tiles.len(), n);
            let all: Vec<Rect> = l.tiles.iter().copied().chain(l.exhibit).collect();
            for (i, a) in all.iter().enumerate() {
                prop_assert!(full.contains(a));
                prop_assert!(a.w >= 160 && a.h >= 90, "{:?} too small", a);
                prop_assert!(a.w % 2 == 0 && a.h % 2 == 0 && a.x % 2 == 0 && a.y % 2 == 0);
                for b in &all[i + 1..] {
                    prop_assert!(!a.overlaps(b), "{:?} overlaps {:?}", a, b);
                }
            }
        }
    }
}
