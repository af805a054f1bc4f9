// An f32 operand as f16, the nearest value (a GPU may round to either
// neighbour). Beyond f16's range (|v| > 65504), or not finite, it becomes
// an f16 infinity, as PyTorch's autocast gives: in training the loss
// scale then sees the overflow (a non-finite gradient) and skips the
// step, where clamping would silently bend the gradient. A NaN fails the
// range test and stays NaN through its sign. naga offers no f16 bit
// pattern: 65504 x 2 rounds to infinity (IEEE 754).
enable f16;

fn to_f16(v: f32) -> f16 {
    if (abs(v) <= 65504.0) {
        return f16(v);
    }
    return f16(sign(v)) * f16(65504.0) * f16(2.0);
}
