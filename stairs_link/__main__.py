"""`python -m stairs_link`: the `stairs-link` command, for machines where the script is not on PATH."""

from stairs_link.cli import main

if __name__ == "__main__":
    main()
