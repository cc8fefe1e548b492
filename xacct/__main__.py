from xacct.cli import run

run()
