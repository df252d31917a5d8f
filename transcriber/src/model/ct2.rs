//! Reader for CTranslate2's `model.bin` (binary version 6): a header, named typed variables and
//! an alias table, all little-endian. The reader checks every length against the bytes present
//! so a truncated or foreign file is refused with a message instead of a panic.
use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// The only binary version this reader understands.
pub const BINARY_VERSION: u32 = 6;

/// Element type of a variable, numbered as CTranslate2 numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::Bf16,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            DType::I8 => 1,
            DType::I16 | DType::F16 | DType::Bf16 => 2,
            DType::F32 | DType::I32 => 4,
        }
    }
}

/// One variable: its shape (row-major), type and raw little-endian bytes.
#[derive(Debug, Clone)]
pub struct Variable<'a> {
    pub dims: Vec<usize>,
    pub dtype: DType,
    pub data: &'a [u8],
}

impl Variable<'_> {
    /// The values as f32, for float types only.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        let chunks2 = || {
            self.data
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
        };
        Some(match self.dtype {
            DType::F32 => self
                .data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            DType::F16 => chunks2()
                .map(|b| half::f16::from_bits(b).to_f32())
                .collect(),
            DType::Bf16 => chunks2()
                .map(|b| half::bf16::from_bits(b).to_f32())
                .collect(),
            _ => return None,
        })
    }

    /// The first value of an integer scalar such as `encoder/num_heads`.
    pub fn to_int(&self) -> Option<i64> {
        let d = self.data;
        Some(match self.dtype {
            DType::I8 => i64::from(*d.first()? as i8),
            DType::I16 => i64::from(i16::from_le_bytes([*d.first()?, *d.get(1)?])),
            DType::I32 => i64::from(i32::from_le_bytes(d.get(..4)?.try_into().ok()?)),
            _ => return None,
        })
    }
}

/// A parsed `model.bin`, borrowing the file's bytes.
#[derive(Debug)]
pub struct Ct2Model<'a> {
    pub spec_name: String,
    pub variables: BTreeMap<String, Variable<'a>>,
    /// alias → target
    pub aliases: BTreeMap<String, String>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(format!(
                "file ends at byte {} while reading {what} ({n} bytes needed at {}): truncated?",
                self.bytes.len(),
                self.pos
            ));
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, String> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A u16 length that counts a trailing NUL, the bytes, the NUL.
    fn string(&mut self, what: &str) -> Result<String, String> {
        let n = self.u16(what)? as usize;
        let b = self.take(n, what)?;
        let Some((&0, text)) = b.split_last() else {
            return Err(format!(
                "{what} at byte {} is not NUL-terminated",
                self.pos - n
            ));
        };
        String::from_utf8(text.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
    }
}

/// Parses a whole `model.bin`; `path` only names the file in errors.
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Ct2Model<'a>> {
    parse_inner(bytes).map_err(|reason| Error::BadModel {
        path: path.to_owned(),
        reason,
    })
}

fn parse_inner(bytes: &[u8]) -> Result<Ct2Model<'_>, String> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.u32("binary version")?;
    if version != BINARY_VERSION {
        return Err(format!(
            "binary version {version} (expected {BINARY_VERSION}): not a CTranslate2 model.bin \
             of the supported version"
        ));
    }
    let spec_name = r.string("spec name")?;
    let _spec_revision = r.u32("spec revision")?;
    let n_variables = r.u32("variable count")?;
    let mut variables = BTreeMap::new();
    for i in 0..n_variables {
        let name = r.string(&format!("name of variable {i}"))?;
        let rank = r.u8(&format!("rank of {name}"))?;
        let mut dims = Vec::with_capacity(rank.into());
        for _ in 0..rank {
            dims.push(r.u32(&format!("shape of {name}"))? as usize);
        }
        let code = r.u8(&format!("type of {name}"))?;
        let dtype = DType::from_code(code).ok_or_else(|| format!("{name}: unknown type {code}"))?;
        let n_bytes = r.u32(&format!("size of {name}"))? as usize;
        let count: usize = dims.iter().product();
        if count.checked_mul(dtype.size()) != Some(n_bytes) {
            return Err(format!(
                "{name}: {n_bytes} bytes do not match shape {dims:?} of {dtype:?}"
            ));
        }
        let data = r.take(n_bytes, &format!("data of {name}"))?;
        variables.insert(name, Variable { dims, dtype, data });
    }
    let n_aliases = r.u32("alias count")?;
    let mut aliases = BTreeMap::new();
    for _ in 0..n_aliases {
        let alias = r.string("alias name")?;
        let target = r.string("alias target")?;
        aliases.insert(alias, target);
    }
    if r.pos != bytes.len() {
        return Err(format!(
            "{} unexpected bytes after the alias table",
            bytes.len() - r.pos
        ));
    }
    Ok(Ct2Model {
        spec_name,
        variables,
        aliases,
    })
}
