//! The ASVS traceability table names only tests that exist, so it cannot drift from
//! the code unnoticed (all of them run in the same `scripts/test`).

use std::path::Path;

#[test]
fn asvs_traceability_names_only_existing_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/security/asvs.md")).unwrap();
    let mut named = 0;
    let mut missing = Vec::new();
    for token in doc.split('`').skip(1).step_by(2) {
        if token.contains('<') {
            continue; // the naming pattern itself
        }
        let parts: Vec<&str> = token.split("::").collect();
        let file = match parts.as_slice() {
            ["it", file, _] => root.join(format!("crates/cli/tests/it/{file}.rs")),
            ["unit", krate, module, _] => root.join(format!("crates/{krate}/src/{module}.rs")),
            _ => continue,
        };
        let test = parts[parts.len() - 1];
        named += 1;
        let src = std::fs::read_to_string(&file).unwrap_or_default();
        if !src.contains(&format!("fn {test}(")) {
            missing.push(token.to_owned());
        }
    }
    assert!(named > 50, "the table names {named} tests");
    assert!(
        missing.is_empty(),
        "named in docs/security/asvs.md but missing: {missing:?}"
    );
}
