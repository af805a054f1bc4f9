"""Pick training faces for one device call: the non-held-out faces in order
of sha1(file name), skipping the first SKIP_MB and taking BUDGET_MB, written
as a gzip -1 tar (one file: no per-file block overhead in the carry limit).
usage: pick.py SKIP_MB BUDGET_MB gpu/train-N.tgz"""
import hashlib, os, subprocess, sys, tempfile
skip, budget = float(sys.argv[1]) * 1e6, float(sys.argv[2]) * 1e6
# setup.sh unpacks gpu/train*.tgz (and .tar) into /root/faces; a pack
# named otherwise never reaches the trainer.
name = os.path.basename(sys.argv[3])
if not (name.startswith('train') and name.endswith('.tgz')):
    sys.exit(f'{sys.argv[3]}: name the pack gpu/train-N.tgz (setup.sh unpacks gpu/train*.tgz)')
src = '/work/shared/data/faces128'
hold = set(open('/work/main/assets/faces128-holdout.txt').read().split())
names = sorted((n for n in os.listdir(src) if n not in hold),
               key=lambda n: hashlib.sha1(n.encode()).hexdigest())
used, picked = 0.0, []
for n in names:
    s = os.path.getsize(os.path.join(src, n))
    used += s
    if used <= skip:
        continue
    if used > skip + budget:
        break
    picked.append(n)
with tempfile.NamedTemporaryFile('w', delete=False) as f:
    f.write('\n'.join('faces128/' + n for n in picked))
subprocess.run(['tar', 'czf', sys.argv[3], '-C', os.path.dirname(src), '-T', f.name],
               env={**os.environ, 'GZIP': '-1'}, check=True)
print(len(picked), 'faces', os.path.getsize(sys.argv[3]) / 1e6, 'MB')
