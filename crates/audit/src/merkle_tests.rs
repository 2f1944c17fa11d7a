//! The Merkle tree against the Certificate Transparency reference vectors, then as
//! properties: every proof of every shape verifies, and no altered proof does.

use super::*;
use crate::from_hex;

fn h(s: &str) -> Hash {
    from_hex(s).unwrap()
}

/// The reference leaves of the CT test suite (certificate-transparency's
/// merkle_tree_test and transparency-dev/merkle's testonly constants).
fn reference_leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|x| leaf_hash(&hex::decode(x).unwrap()))
    .collect()
}

const REFERENCE_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn tree_of(leaves: &[Hash]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for l in leaves {
        t.push(*l);
    }
    t
}

#[test]
fn roots_match_the_reference_vectors() {
    assert_eq!(EMPTY_ROOT, h(REFERENCE_ROOTS[0]));
    let mut t = tree_of(&reference_leaves());
    for (size, want) in REFERENCE_ROOTS.iter().enumerate() {
        assert_eq!(t.root_at(size as u64).unwrap(), h(want), "size {size}");
    }
}

#[test]
fn proofs_match_the_reference_vectors() {
    let mut t = tree_of(&reference_leaves());
    let inclusion: [(u64, u64, &[&str]); 2] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    let leaves = reference_leaves();
    for (index, size, want) in inclusion {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(inclusion_proof(&mut t, index, size).unwrap(), want);
        let root = h(REFERENCE_ROOTS[size as usize]);
        assert!(verify_inclusion(
            &leaves[index as usize],
            index,
            size,
            &want,
            &root
        ));
    }
    let consistency: [(u64, u64, &[&str]); 3] = [
        (
            2,
            8,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (first, second, want) in consistency {
        let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
        assert_eq!(consistency_proof(&mut t, first, second).unwrap(), want);
        assert!(verify_consistency(
            first,
            second,
            &h(REFERENCE_ROOTS[first as usize]),
            &h(REFERENCE_ROOTS[second as usize]),
            &want
        ));
    }
}

/// Distinct pseudo-random leaves.
fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Every way of damaging a proof: each byte of each element flipped, an element
/// dropped from either end, one added, two swapped.
fn damaged(proof: &[Hash]) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        for byte in [0usize, 17, 31] {
            let mut p = proof.to_vec();
            p[i][byte] ^= 0x01;
            out.push(p);
        }
    }
    if !proof.is_empty() {
        out.push(proof[1..].to_vec());
        out.push(proof[..proof.len() - 1].to_vec());
    }
    let mut longer = proof.to_vec();
    longer.push([0xab; 32]);
    out.push(longer);
    if proof.len() >= 2 && proof[0] != proof[1] {
        let mut p = proof.to_vec();
        p.swap(0, 1);
        out.push(p);
    }
    out
}

#[test]
fn every_inclusion_proof_verifies_and_no_damaged_one_does() {
    let all = leaves(70);
    let mut t = tree_of(&all);
    for size in 1..=70u64 {
        let root = t.root_at(size).unwrap();
        for index in 0..size {
            let proof = inclusion_proof(&mut t, index, size).unwrap();
            let leaf = all[index as usize];
            assert!(verify_inclusion(&leaf, index, size, &proof, &root));
            for bad in damaged(&proof) {
                assert!(!verify_inclusion(&leaf, index, size, &bad, &root));
            }
            let mut other = leaf;
            other[5] ^= 0x40;
            assert!(!verify_inclusion(&other, index, size, &proof, &root));
            let mut bad_root = root;
            bad_root[0] ^= 1;
            assert!(!verify_inclusion(&leaf, index, size, &proof, &bad_root));
            if index + 1 < size {
                assert!(!verify_inclusion(&leaf, index + 1, size, &proof, &root));
            }
            assert!(!verify_inclusion(&leaf, size, size, &proof, &root));
        }
    }
    assert!(inclusion_proof(&mut t, 3, 3).is_err());
}

#[test]
fn every_consistency_proof_verifies_and_no_damaged_one_does() {
    let mut t = tree_of(&leaves(70));
    let roots: Vec<Hash> = (0..=70).map(|n| t.root_at(n).unwrap()).collect();
    for second in 0..=70u64 {
        for first in 0..=second {
            let proof = consistency_proof(&mut t, first, second).unwrap();
            let (r1, r2) = (&roots[first as usize], &roots[second as usize]);
            assert!(verify_consistency(first, second, r1, r2, &proof));
            if first == 0 || first == second {
                assert!(proof.is_empty());
                continue;
            }
            for bad in damaged(&proof) {
                assert!(!verify_consistency(first, second, r1, r2, &bad));
            }
            let mut bad_first = *r1;
            bad_first[9] ^= 2;
            assert!(!verify_consistency(first, second, &bad_first, r2, &proof));
            let mut bad_second = *r2;
            bad_second[9] ^= 2;
            assert!(!verify_consistency(first, second, r1, &bad_second, &proof));
            // A rewritten history: the same sizes but one earlier leaf changed.
            let mut rewritten = leaves(second);
            rewritten[(first - 1) as usize][0] ^= 1;
            let mut other = tree_of(&rewritten);
            let other_root = other.root_at(second).unwrap();
            let other_proof = consistency_proof(&mut other, first, second).unwrap();
            assert!(!verify_consistency(
                first,
                second,
                r1,
                &other_root,
                &other_proof
            ));
        }
    }
    assert!(consistency_proof(&mut t, 5, 4).is_err());
    assert!(!verify_consistency(5, 4, &roots[5], &roots[4], &[]));
}

#[test]
fn larger_random_trees_agree_with_the_recursive_definition() {
    // The RFC's MTH written out naively, to check the stored-subtree shortcut.
    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => EMPTY_ROOT,
            1 => d[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let all = leaves(5000);
    let mut t = tree_of(&all);
    for _ in 0..60 {
        let size = next() % 5000 + 1;
        let root = t.root_at(size).unwrap();
        assert_eq!(root, mth(&all[..size as usize]));
        let index = next() % size;
        let proof = inclusion_proof(&mut t, index, size).unwrap();
        assert!(verify_inclusion(
            &all[index as usize],
            index,
            size,
            &proof,
            &root
        ));
        let first = next() % size + 1;
        let first_root = t.root_at(first).unwrap();
        let c = consistency_proof(&mut t, first, size).unwrap();
        assert!(verify_consistency(first, size, &first_root, &root, &c));
        for bad in damaged(&c) {
            assert!(!verify_consistency(first, size, &first_root, &root, &bad));
        }
    }
}

#[test]
fn the_split_is_the_largest_power_of_two_below() {
    for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512)] {
        assert_eq!(split(n), k);
    }
}

#[test]
fn a_recorded_pass_asks_for_exactly_the_nodes_the_proof_uses() {
    let mut t = tree_of(&leaves(37));
    let mut rec = NodeRecorder::default();
    inclusion_proof(&mut rec, 11, 37).unwrap();
    let mut map = std::collections::HashMap::new();
    for (l, i) in rec.wanted {
        map.insert((l, i), t.node(l, i).unwrap());
    }
    assert_eq!(
        inclusion_proof(&mut map, 11, 37).unwrap(),
        inclusion_proof(&mut t, 11, 37).unwrap()
    );
}

#[test]
fn a_frontier_reloaded_from_stored_nodes_grows_the_same_tree() {
    let all = leaves(300);
    let mut t = MemoryTree::new();
    let mut f = Frontier::default();
    for (i, l) in all.iter().enumerate() {
        assert_eq!(f.push(*l), t.push(*l), "leaf {i}");
        assert_eq!(f.root(), t.root_at(i as u64 + 1).unwrap());
        // Reloaded from the stored nodes at any size, it is the same frontier.
        if i % 37 == 0 {
            assert_eq!(Frontier::load(&mut t, i as u64 + 1).unwrap(), f);
        }
    }
    assert_eq!(Frontier::default().root(), EMPTY_ROOT);
    assert_eq!(Frontier::keys(5), vec![(2, 0), (0, 4)]);
}
