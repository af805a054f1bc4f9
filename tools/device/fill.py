import os, shutil, sys
part = sys.argv[1]  # A or B
budget = float(sys.argv[2]) * 1e6
src = '/work/shared/data/faces128'
hold = set(open('/work/main/assets/faces128-holdout.txt').read().split())
names = sorted(n for n in os.listdir(src) if n not in hold)
dst = '/work/main/gpu/train'
shutil.rmtree(dst, ignore_errors=True); os.makedirs(dst)
# A takes from the front, B from the back: never overlapping
order = names if part == 'A' else names[::-1]
used = 0; n = 0
for name in order:
    s = os.path.getsize(os.path.join(src, name))
    if used + s > budget: break
    shutil.copy(os.path.join(src, name), dst); used += s; n += 1
print(part, n, 'faces', used / 1e6, 'MB', 'of', len(names))
