"""CTest Python.MypyStubs (#31): mypy (Debian's python3-mypy) --strict on typed_usage.py against
rasterflow's stubs passes, and a call the API does not take is reported (the stubs constrain).
  python3 mypy_check.py PACKAGE_PARENT_DIR"""
import os
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
env = dict(os.environ, MYPYPATH=sys.argv[1])
mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", os.devnull]

good = subprocess.run(mypy + [os.path.join(here, "typed_usage.py")], capture_output=True, text=True, env=env)
print(good.stdout, good.stderr)
if good.returncode != 0:
    sys.exit("typed_usage.py does not check against the stubs")

with tempfile.TemporaryDirectory() as tmp:
    bad = os.path.join(tmp, "bad_usage.py")
    with open(bad, "w") as f:
        f.write("import rasterflow\n"
                "rasterflow.chunks('g.json', prefetch='many')\n"
                "n: str = len(rasterflow.chunks('g.json'))\n"
                "rasterflow.to_pandas('g.json', nulable=True)\n")
    r = subprocess.run(mypy + [bad], capture_output=True, text=True, env=env)
    print(r.stdout)
    expected = ['Argument "prefetch" to "chunks" has incompatible type "str"',
                'Incompatible types in assignment (expression has type "int", variable has type "str")',
                'Unexpected keyword argument "nulable" for "to_pandas"']
    missing = [e for e in expected if e not in r.stdout]
    if r.returncode == 0 or missing:
        sys.exit(f"mypy did not report: {missing}")
print("stubs: typed usage checks, wrong calls are reported")
