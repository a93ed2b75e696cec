from fraudcli.cli import main

main()
