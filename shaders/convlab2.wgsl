enable subgroups;
// subgroup check: writes subgroup_invocation_id, subgroup_size and shuffle result
@group(0) @binding(1) var<storage, read_write> info: array<u32>;
@compute @workgroup_size(64)
fn sgcheck(@builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32) {
  info[li * 4u] = sl;
  info[li * 4u + 1u] = ss;
  info[li * 4u + 2u] = subgroupShuffle(li, (sl + 1u) & 7u);
  info[li * 4u + 3u] = subgroupBroadcast(li, 3u);
}
