"""The live chat's rules and actions: the queue, routing and assignment, staff and visitor
actions, housekeeping and configuration. The socket namespaces (service/realtime) sit on top."""
