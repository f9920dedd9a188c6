//! Pictures the simulator writes: screenshots and printed receipts as PNG, and the boot
//! ROM's own refusal screen (drawn by the host: no payload runs then).

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use device_abi::{DISPLAY_HEIGHT_PX, DISPLAY_WIDTH_PX, PRINTER_WIDTH_PX};
use embedded_graphics::mono_font::ascii::FONT_10X20;
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::pixelcolor::raw::RawU16;
use embedded_graphics::pixelcolor::{IntoStorage, Rgb565, Rgb888, RgbColor};
use embedded_graphics::prelude::{DrawTarget, OriginDimensions, Point, Size};
use embedded_graphics::text::Text;
use embedded_graphics::{Drawable, Pixel};

use crate::devices::{RasterLine, SCREEN_PIXELS};

/// Why a picture could not be written.
#[derive(Debug)]
pub struct PictureError {
    /// The file.
    pub path: std::path::PathBuf,
    /// The reason.
    pub reason: String,
}

impl std::fmt::Display for PictureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot write {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for PictureError {}

fn write_png(
    path: &Path,
    width: u32,
    height: u32,
    color: png::ColorType,
    data: &[u8],
) -> Result<(), PictureError> {
    let fail = |reason: String| PictureError {
        path: path.to_path_buf(),
        reason,
    };
    let file = File::create(path).map_err(|e| fail(e.to_string()))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    writer
        .write_image_data(data)
        .map_err(|e| fail(e.to_string()))?;
    writer.finish().map_err(|e| fail(e.to_string()))
}

/// RGB888 bytes of an RGB565 screen.
pub fn screen_rgb(pixels: &[u16]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(pixels.len() * 3);
    for &raw in pixels {
        let c: Rgb888 = Rgb565::from(RawU16::new(raw)).into();
        rgb.extend_from_slice(&[c.r(), c.g(), c.b()]);
    }
    rgb
}

/// Write the screen as an 800x480 RGB PNG.
pub fn write_screen(path: &Path, pixels: &[u16]) -> Result<(), PictureError> {
    write_png(
        path,
        DISPLAY_WIDTH_PX,
        DISPLAY_HEIGHT_PX,
        png::ColorType::Rgb,
        &screen_rgb(pixels),
    )
}

/// Write a receipt as a 384-pixel-wide grayscale PNG (one row per raster line).
pub fn write_receipt(path: &Path, lines: &[RasterLine]) -> Result<(), PictureError> {
    let mut gray = Vec::with_capacity(lines.len() * PRINTER_WIDTH_PX as usize);
    for line in lines {
        for byte in line {
            for bit in (0..8).rev() {
                gray.push(if byte >> bit & 1 == 1 { 0 } else { 255 });
            }
        }
    }
    let height = u32::try_from(lines.len().max(1)).unwrap_or(u32::MAX);
    if lines.is_empty() {
        gray.resize(PRINTER_WIDTH_PX as usize, 255);
    }
    write_png(
        path,
        PRINTER_WIDTH_PX,
        height,
        png::ColorType::Grayscale,
        &gray,
    )
}

/// A host-side screen the boot ROM draws on.
struct RomScreen(Vec<u16>);

impl OriginDimensions for RomScreen {
    fn size(&self) -> Size {
        Size::new(DISPLAY_WIDTH_PX, DISPLAY_HEIGHT_PX)
    }
}

impl DrawTarget for RomScreen {
    type Color = Rgb565;
    type Error = std::convert::Infallible;

    fn draw_iter<I: IntoIterator<Item = Pixel<Rgb565>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        for Pixel(p, c) in pixels {
            if let (Ok(x), Ok(y)) = (u32::try_from(p.x), u32::try_from(p.y)) {
                if x < DISPLAY_WIDTH_PX && y < DISPLAY_HEIGHT_PX {
                    self.0[(y * DISPLAY_WIDTH_PX + x) as usize] = c.into_storage();
                }
            }
        }
        Ok(())
    }
}

/// The boot ROM's refusal screen: a red title and the reason, wrapped.
pub fn refusal_screen(reason: &str) -> Vec<u16> {
    let mut screen = RomScreen(vec![Rgb565::WHITE.into_storage(); SCREEN_PIXELS]);
    let title = MonoTextStyle::new(&FONT_10X20, Rgb565::RED);
    let body = MonoTextStyle::new(&FONT_10X20, Rgb565::BLACK);
    let _ = Text::new(
        "BOOT REFUSED: the image was not started",
        Point::new(20, 40),
        title,
    )
    .draw(&mut screen);
    let columns = 76;
    let mut y = 90;
    let mut line = String::new();
    for word in reason.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > columns {
            let _ = Text::new(&line, Point::new(20, y), body).draw(&mut screen);
            y += 26;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = Text::new(&line, Point::new(20, y), body).draw(&mut screen);
    }
    screen.0
}
