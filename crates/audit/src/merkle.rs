//! The Merkle tree over audit entries, exactly as RFC 9162 (Certificate Transparency
//! version 2.0) §2.1 defines it: leaf and interior hashing with the 0x00 / 0x01 prefixes,
//! the split at the largest power of two, inclusion and consistency proofs and their
//! verification algorithms. Any other RFC 9162 implementation agrees with these roots.
//!
//! Proof generation only ever needs the hashes of *perfect* subtrees (a power of two of
//! leaves starting at a multiple of that power), which never change once complete. The
//! generators take them from a [`Nodes`] source, so the same code serves the in-memory
//! tree of the verifier and the server's stored nodes.

use sha2::{Digest, Sha256};

use crate::Hash;

/// The root of the empty tree: SHA-256 of nothing.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `HASH(0x00 || data)`: the hash of one leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `HASH(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (n ≥ 2): where RFC 9162 splits a tree.
pub fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A source of perfect-subtree hashes: `node(level, index)` is the root of the
/// `2^level` leaves starting at leaf `index << level`.
pub trait Nodes {
    type Error;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// MTH(D[start:end]) where `start` is aligned to a power of two not smaller than the
/// range (true of every range the RFC's recursion visits).
pub fn range_hash<N: Nodes>(src: &mut N, start: u64, end: u64) -> Result<Hash, N::Error> {
    let n = end - start;
    if n == 0 {
        return Ok(EMPTY_ROOT);
    }
    if n.is_power_of_two() {
        let level = n.trailing_zeros();
        return src.node(level, start >> level);
    }
    let k = split(n);
    let left = range_hash(src, start, start + k)?;
    let right = range_hash(src, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves.
pub fn root<N: Nodes>(src: &mut N, size: u64) -> Result<Hash, N::Error> {
    range_hash(src, 0, size)
}

/// Why a proof cannot be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    #[error("leaf {index} is not in a tree of {size} leaves")]
    OutOfRange { index: u64, size: u64 },
    #[error("tree size {first} is larger than {second}")]
    Order { first: u64, second: u64 },
    #[error("node source: {0}")]
    Source(E),
}

/// PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, leaf `m` counted from `start`.
fn path<N: Nodes>(
    src: &mut N,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// The inclusion proof of leaf `index` in the tree of the first `size` leaves.
pub fn inclusion_proof<N: Nodes>(
    src: &mut N,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<N::Error>> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let mut out = Vec::new();
    path(src, index, 0, size, &mut out).map_err(ProofError::Source)?;
    Ok(out)
}

/// SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1.
fn subproof<N: Nodes>(
    src: &mut N,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(range_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, whole, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof between the trees of the first `first` and `second` leaves.
/// Empty when either tree is empty or both are the same.
pub fn consistency_proof<N: Nodes>(
    src: &mut N,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError<N::Error>> {
    if first > second {
        return Err(ProofError::Order { first, second });
    }
    let mut out = Vec::new();
    if first > 0 && first < second {
        subproof(src, first, 0, second, true, &mut out).map_err(ProofError::Source)?;
    }
    Ok(out)
}

/// RFC 9162 §2.1.3.2: does `proof` show `leaf` at `index` in the tree of `size` leaves
/// whose root is `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: does `proof` show that the tree of `first` leaves with root
/// `first_root` is a prefix of the tree of `second` leaves with root `second_root`?
/// The degenerate cases (an empty first tree, equal sizes) take an empty proof.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        return proof.is_empty() && *first_root == EMPTY_ROOT;
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (first - 1, second - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *first_root && sr == *second_root && snode == 0
}

/// A whole tree in memory, every perfect subtree kept: what the verifier builds from an
/// export or a database copy, and what the server's node table mirrors.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    /// `levels[l][i]` is `node(l, i)`.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends a leaf hash and every perfect subtree it completes. Returns the new
    /// nodes as (level, index, hash), the rows a store must add.
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let mut added = Vec::with_capacity(2);
        let mut level = 0usize;
        let mut hash = leaf;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            let index = row.len() as u64 - 1;
            added.push((level as u32, index, hash));
            if index.is_multiple_of(2) {
                return added;
            }
            hash = node_hash(&row[row.len() - 2], &row[row.len() - 1]);
            level += 1;
        }
    }

    /// Root of the first `size` leaves (`size` ≤ [`MemoryTree::size`]).
    pub fn root_at(&mut self, size: u64) -> Option<Hash> {
        if size > self.size() {
            return None;
        }
        root(self, size).ok()
    }
}

/// The right edge of a tree: the perfect subtrees its leaves decompose into, largest
/// first. Enough to append leaves and to compute the root without the rest of the tree:
/// what the server keeps between checkpoints.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// (level, hash), levels strictly decreasing.
    stack: Vec<(u32, Hash)>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves, from `node(level, index)` lookups.
    pub fn load<N: Nodes>(src: &mut N, size: u64) -> Result<Self, N::Error> {
        let mut stack = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1 << level) != 0 {
                stack.push((level, src.node(level, start >> level)?));
                start += 1 << level;
            }
        }
        Ok(Self { size, stack })
    }

    /// The (level, index) of the nodes [`Frontier::load`] reads.
    pub fn keys(size: u64) -> Vec<(u32, u64)> {
        let mut rec = NodeRecorder::default();
        let _ = Self::load(&mut rec, size);
        rec.wanted
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf; returns the perfect nodes it completes, leaf included, as
    /// (level, index, hash).
    pub fn push(&mut self, leaf: Hash) -> Vec<(u32, u64, Hash)> {
        let index = self.size;
        let mut added = vec![(0, index, leaf)];
        let (mut level, mut hash) = (0u32, leaf);
        while let Some(&(top_level, top)) = self.stack.last() {
            if top_level != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&top, &hash);
            level += 1;
            added.push((level, index >> level, hash));
        }
        self.stack.push((level, hash));
        self.size += 1;
        added
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut r)) = iter.next() else {
            return EMPTY_ROOT;
        };
        for (_, h) in iter {
            r = node_hash(h, &r);
        }
        r
    }
}

/// A node the tree does not hold (asked beyond its size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no node at level {level}, index {index}")]
pub struct MissingNode {
    pub level: u32,
    pub index: u64,
}

impl Nodes for MemoryTree {
    type Error = MissingNode;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.levels
            .get(level as usize)
            .and_then(|row| row.get(index as usize))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

/// Records which perfect nodes a computation asks for, answering zeros: the first pass
/// of a two-pass proof over a store (collect the keys, fetch them in one query, then
/// compute with the fetched map).
#[derive(Debug, Default)]
pub struct NodeRecorder {
    pub wanted: Vec<(u32, u64)>,
}

impl Nodes for NodeRecorder {
    type Error = std::convert::Infallible;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        self.wanted.push((level, index));
        Ok([0; 32])
    }
}

/// Perfect nodes fetched ahead, by (level, index).
impl Nodes for std::collections::HashMap<(u32, u64), Hash> {
    type Error = MissingNode;
    fn node(&mut self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        self.get(&(level, index))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

#[cfg(test)]
#[path = "merkle_tests.rs"]
mod tests;
