//! `_`-names are the admin API's (`/_status`); no flag can have one.
flags_middleware::flag! {
    GOOD = "good_name";
    BAD = "_status";
}

fn main() {}
