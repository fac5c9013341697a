"""An unmodified pylm worker, as in the pylm seed: `worker.py NAME DB_ADDRESS`."""
import sys

from pylm.servers import Worker


class MyWorker(Worker):
    def function(self, message):
        return b'acknowledged'

    def echo(self, message):
        return message


if __name__ == '__main__':
    MyWorker(sys.argv[1], db_address=sys.argv[2]).start()
