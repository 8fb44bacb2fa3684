// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IERC20 {
    function balanceOf(address who) external view returns (uint256);
    function transfer(address to, uint256 value) external returns (bool);
}

/// The per-account deposit address: deployed by the factory with CREATE2 (salt = account id)
/// only when its tokens are swept, so the address exists and receives plain transfers long
/// before any code is there. Only the factory may move its tokens, and only to the hot wallet.
contract Forwarder {
    address private immutable factory;

    constructor() {
        factory = msg.sender;
    }

    function flush(IERC20 token, address to) external returns (uint256 amount) {
        require(msg.sender == factory, "factory only");
        amount = token.balanceOf(address(this));
        if (amount > 0) {
            require(token.transfer(to, amount), "transfer failed");
        }
    }
}

/// Hands out deposit addresses without any private key: the address of account N is the
/// CREATE2 address of a Forwarder with salt N. `sweep` (anyone may call it; gas is paid by the
/// caller, the exchange's hot wallet) deploys the forwarder if needed and moves its whole
/// token balance to the hot wallet.
contract DepositFactory {
    IERC20 public immutable token;
    address public immutable hotWallet;

    event Swept(uint256 indexed account, address indexed forwarder, uint256 amount);

    constructor(IERC20 token_, address hotWallet_) {
        token = token_;
        hotWallet = hotWallet_;
    }

    function initCodeHash() public pure returns (bytes32) {
        return keccak256(type(Forwarder).creationCode);
    }

    function addressOf(uint256 account) public view returns (address) {
        bytes32 h = keccak256(abi.encodePacked(bytes1(0xff), address(this), bytes32(account),
                                               initCodeHash()));
        return address(uint160(uint256(h)));
    }

    function sweep(uint256 account) external returns (uint256 amount) {
        address forwarder = addressOf(account);
        if (forwarder.code.length == 0) {
            new Forwarder{salt: bytes32(account)}();
        }
        amount = Forwarder(forwarder).flush(token, hotWallet);
        emit Swept(account, forwarder, amount);
    }
}
