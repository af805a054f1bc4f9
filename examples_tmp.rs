fn main() {
    image::RgbImage::from_fn(48, 40, |x, y| image::Rgb([(x * 5) as u8, (y * 6) as u8, 90])).save("/tmp/jt/full.jpg").unwrap();
}
