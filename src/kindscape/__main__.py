from .quickcli import main

main()
