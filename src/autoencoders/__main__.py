from autoencoders.cli import main

main()
