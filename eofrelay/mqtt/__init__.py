# -*- test-case-name: tests.test_mqtt_bridge -*-
"""
The MQTT front end: a bridge between the relay bank and an MQTT broker,
with Home Assistant discovery (C{--mqtt URL}, the C{eofrelay[mqtt]}
extra).

L{eofrelay.mqtt.settings} and L{eofrelay.mqtt.topics} are plain data and
import no MQTT library; L{eofrelay.mqtt.client} drives paho-mqtt from the
reactor; L{eofrelay.mqtt.bridge} is the front end itself.
"""
