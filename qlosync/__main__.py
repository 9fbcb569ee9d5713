from qlosync.cli import main

main()
