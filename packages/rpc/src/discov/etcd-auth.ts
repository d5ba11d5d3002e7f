// Connection settings for the etcd cluster holding the service registry
// (go-zero's discov.EtcdConf fields).

export interface EtcdConf {
  Hosts: string[];
  Key: string;
  ID?: bigint;
  User?: string;
  Pass?: string;
  CertFile?: string;
  CertKeyFile?: string;
  CACertFile?: string;
  InsecureSkipVerify?: boolean;
}
