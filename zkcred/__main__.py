from zkcred.cli import main

main()
