from services.kernel.worker import main

from . import DEFINITION

if __name__ == "__main__":
    main(DEFINITION)
