//! Links against the runtime `libgstwebrtc-1.0.so.0` without Debian's -dev package: that package
//! (libgstreamer-plugins-bad1.0-dev) is the only one with the unversioned `libgstwebrtc-1.0.so`
//! the linker looks for, and it pulls in ~550 MB of OpenCV. We put that link in OUT_DIR instead.
//! The binary still records the real soname (`libgstwebrtc-1.0.so.0`), as it would with -dev.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=pkgconfig/gstreamer-webrtc-1.0.pc");
    let out = Command::new("pkg-config")
        .args(["--variable=libdir", "gstreamer-1.0"])
        .output()?;
    let libdir = PathBuf::from(String::from_utf8(out.stdout)?.trim());
    if libdir.join("libgstwebrtc-1.0.so").exists() {
        return Ok(()); // the -dev package is installed: nothing to do
    }
    let runtime = libdir.join("libgstwebrtc-1.0.so.0");
    if !runtime.exists() {
        return Err(format!(
            "{} is missing: install libgstreamer-plugins-bad1.0-0 (scripts/install-deps.sh)",
            runtime.display()
        )
        .into());
    }
    let shim = PathBuf::from(std::env::var("OUT_DIR")?).join("link");
    std::fs::create_dir_all(&shim)?;
    let link = shim.join("libgstwebrtc-1.0.so");
    relink(&runtime, &link)?;
    println!("cargo:rustc-link-search=native={}", shim.display());
    Ok(())
}

fn relink(target: &Path, link: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link)
}
