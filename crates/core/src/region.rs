//! Where data may be kept: TEKKAN keeps personal data in Japan, so every place it
//! sends data (backup destinations, file buckets) declares its region, checked here.

/// Regions whose data centres are in Japan: AWS Tokyo and Osaka, Google Cloud Tokyo
/// and Osaka, Azure Japan East and West; and any region named `jp` or `jp-…`, as
/// Japanese providers (and directories on Japanese machines) declare theirs.
pub fn is_japanese_region(region: &str) -> bool {
    let r = region.trim().to_ascii_lowercase();
    matches!(
        r.as_str(),
        "ap-northeast-1"
            | "ap-northeast-3"
            | "asia-northeast1"
            | "asia-northeast2"
            | "japaneast"
            | "japanwest"
    ) || r == "jp"
        || r.starts_with("jp-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn japanese_regions_are_told_from_others() {
        for r in [
            "ap-northeast-1",
            "ap-northeast-3",
            "jp",
            "jp-tokyo",
            "JP-EAST-1",
            "japaneast",
        ] {
            assert!(is_japanese_region(r), "{r}");
        }
        for r in [
            "ap-northeast-2",
            "us-east-1",
            "eu-west-1",
            "",
            "japan",
            "xjp-1",
        ] {
            assert!(!is_japanese_region(r), "{r}");
        }
    }
}
