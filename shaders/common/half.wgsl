// Activations stored as f16 (mixed precision): `half_in` kernels read
// their activation operands as f16, `half_out` kernels write their
// activation as f16; arithmetic stays f32. IN1/IN2/IN4 are the stored
// types of 1, 2 and 4 values read, OUT1/OUT2/OUT4 of those written, and
// out1/out2/out4 convert f32 values to them (a load converts with
// f32(...) / vec4<f32>(...)). Values beyond f16's range (|v| > 65504) are
// stored as an f16 infinity of their sign and NaN stays NaN, as PyTorch's
// autocast gives: in training the loss scale then sees the overflow (a
// non-finite gradient) and skips the step, where clamping would bend the
// gradient silently. naga offers no f16 bit pattern: 65504 x 2 rounds to
// infinity (IEEE 754), at run time.
#ifdef half_in
enable f16;

alias IN1 = f16;
alias IN2 = vec2<f16>;
alias IN4 = vec4<f16>;
#else
alias IN1 = f32;
alias IN2 = vec2<f32>;
alias IN4 = vec4<f32>;
#endif

#ifdef half_out
enable f16;

alias OUT1 = f16;
alias OUT2 = vec2<f16>;
alias OUT4 = vec4<f16>;

fn out1(v: f32) -> OUT1 {
    if (abs(v) <= 65504.0) {
        return f16(v);
    }
    return f16(sign(v)) * f16(65504.0) * f16(2.0);
}

fn out2(v: vec2<f32>) -> OUT2 {
    return vec2<f16>(out1(v.x), out1(v.y));
}

fn out4(v: vec4<f32>) -> OUT4 {
    return vec4<f16>(out1(v.x), out1(v.y), out1(v.z), out1(v.w));
}
#else
alias OUT1 = f32;
alias OUT2 = vec2<f32>;
alias OUT4 = vec4<f32>;

fn out1(v: f32) -> OUT1 {
    return v;
}

fn out2(v: vec2<f32>) -> OUT2 {
    return v;
}

fn out4(v: vec4<f32>) -> OUT4 {
    return v;
}
#endif
