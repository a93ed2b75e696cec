from fraudcli.entry import main

main()
