"""checks.py: the tally the robustness scripts share.

check(cond, what) prints "ok   WHAT" or "FAIL WHAT" and remembers a failure;
finish(about) prints how many failed (for about, when given) and returns the
exit status, 1 when any did. The scripts run by path, so this folder is on
sys.path and `from checks import check, finish` finds it.
"""

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)
    return cond


def finish(about=None):
    if failures:
        print("%d check(s) failed%s" % (len(failures), " for " + about if about else ""))
        return 1
    return 0
