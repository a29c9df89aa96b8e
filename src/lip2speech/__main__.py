from .cli import main

if __name__ == "__main__":  # spawn-based workers re-import this module; they must not re-run the command
    main()
