// Element-wise kernels run 256 invocations per workgroup on a 2-D grid of
// workgroups, because one grid dimension holds at most 65535 workgroups.
const WG_SIZE: u32 = 256u;

fn flat_index(wg: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wg.y * nwg.x + wg.x) * WG_SIZE + lid;
}
